/*
 * api_objects_test.c - the object, template and configuration endpoints of
 * the local API, driven through ent_api_dispatch() on a real node (no
 * sockets): hostile bodies, paths and queries are refused with the right
 * status and change nothing; the op hook sees exactly the ops made.
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
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "nodes_fixture.h"

#include "node/api/api.h"
#include "node/api/api_objects.h"
#include "node/timefmt.h"
#include "protocol/op.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define CANARY "CANARY-PRIV-8841"

/* Ops seen by the hook. */
typedef struct hook {
    int calls;
    uint8_t object[32];
    uint8_t *raw; /* copy of the last op */
    size_t len;
    bool canary_seen;
} hook;

typedef struct fx {
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    hook h;
} fx;

static void on_op(ent_node *n, const uint8_t *raw, size_t len,
                  const uint8_t object[32], void *data) {
    hook *h = data;
    h->calls++;
    memcpy(h->object, object, 32);
    free(h->raw);
    h->raw = malloc(len);
    assert_non_null(h->raw);
    memcpy(h->raw, raw, len);
    h->len = len;
    if (memmem(raw, len, CANARY, strlen(CANARY)) != NULL)
        h->canary_seen = true;
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    nodes_tmpdir(f->tmp, "/tmp", "apiobj-test");
    node_home(f->home, f->tmp, "home", "Acme", NULL);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    node_open(&f->n, &f->loop, f->home, NULL);
    assert_non_null(ent_node_objects(f->n));
    ent_node_set_op_cb(f->n, on_op, &f->h);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ent_node_free(f->n);
    uv_loop_close(&f->loop);
    rm_tree(f->tmp);
    free(f->h.raw);
    free(f);
    return 0;
}

/* Dispatches a raw HTTP request text; returns the status, *out the body. */
static int call_raw(fx *f, const char *text, size_t len, json_t **out) {
    ent_http_request req;
    ent_http_response resp = {0};
    int rc = ent_http_parse((const uint8_t *)text, len, &req);
    if (rc == ENT_ETOOBIG)
        return 413;
    assert_int_equal(rc, ENT_OK);
    ent_api_dispatch(f->n, &req, &resp);
    ent_http_request_clear(&req);
    int status = resp.status;
    if (out != NULL) {
        *out = resp.body;
        resp.body = NULL;
    }
    ent_http_response_clear(&resp);
    return status;
}

/* Dispatches METHOD PATH with a body given as text (NULL: none). */
static int call(fx *f, const char *method, const char *path, const char *body,
                json_t **out) {
    size_t bl = body ? strlen(body) : 0;
    size_t cap = strlen(path) + bl + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    int n = snprintf(text, cap,
                     "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                     "\r\n%s",
                     method, path, bl, body ? body : "");
    int st = call_raw(f, text, (size_t)n, out);
    free(text);
    return st;
}

static const char *err_code(const json_t *j) {
    return json_string_value(
        json_object_get(json_object_get(j, "error"), "code"));
}

static const char *err_field(const json_t *j) {
    return json_string_value(
        json_object_get(json_object_get(j, "error"), "field"));
}

static const char *err_msg(const json_t *j) {
    return json_string_value(
        json_object_get(json_object_get(j, "error"), "message"));
}

/* POSTs the object body to /v1/objects (201) and returns the new id in
 * hex. */
static void create_body(fx *f, const char *body, char hex[65]) {
    json_t *j = NULL;
    assert_int_equal(call(f, "POST", "/v1/objects", body, &j), 201);
    const char *id = json_string_value(json_object_get(j, "id"));
    assert_non_null(id);
    assert_int_equal(strlen(id), 64);
    strcpy(hex, id);
    json_decref(j);
}

/* Creates an opportunity with a private canary; returns its hex id. */
static void create_opp(fx *f, char hex[65]) {
    create_body(f,
                "{\"type\":\"opportunity\",\"set\":{\"name\":\"Deal\","
                "\"close_date\":\"2026-03-31\"},\"private\":{\"deal_size\":"
                "\"1200000 EUR\",\"internal_notes\":\"" CANARY "\"}}",
                hex);
}

/* The object as the API shows it, compact JSON (caller frees). */
static char *show(fx *f, const char *hex) {
    char path[128];
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

static size_t count_objects(fx *f) {
    json_t *j = NULL;
    assert_int_equal(call(f, "GET", "/v1/objects", NULL, &j), 200);
    size_t n = json_array_size(j);
    json_decref(j);
    return n;
}

static void test_create_show_and_hook(void **state) {
    fx *f = *state;
    char hex[65], path[160];
    uint8_t id[32];
    json_t *j = NULL;
    create_opp(f, hex);
    assert_int_equal(ent_api_obj_id_parse(hex, id), ENT_OK);
    /* the hook got the genesis op, for this object, without the canary */
    assert_int_equal(f->h.calls, 1);
    assert_memory_equal(f->h.object, id, 32);
    assert_false(f->h.canary_seen);
    ent_op *op = NULL;
    assert_int_equal(ent_op_decode(&op, f->h.raw, f->h.len), ENT_OK);
    assert_true(op->h.genesis);
    assert_memory_equal(op->id, id, 32); /* object id = genesis op id */
    ent_op_free(op);

    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "opportunity");
    const json_t *money =
        json_object_get(json_object_get(j, "private"), "deal_size");
    assert_int_equal(json_integer_value(json_object_get(money, "minor")),
                     120000000);
    assert_string_equal(json_string_value(json_object_get(money, "currency")),
                        "EUR");
    json_decref(j);

    snprintf(path, sizeof(path), "/v1/objects/%s?hide_private=1", hex);
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    assert_null(json_object_get(j, "private"));
    char *s = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(s, CANARY));
    free(s);
    json_decref(j);

    /* set: shared -> one op; private only -> no op */
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    assert_int_equal(
        call(f, "POST", path, "{\"set\":{\"next_step\":\"call\"}}", &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "id")), hex);
    json_decref(j);
    assert_int_equal(f->h.calls, 2);
    assert_memory_equal(f->h.object, id, 32);
    assert_int_equal(call(f, "POST", path,
                          "{\"private\":{\"internal_notes\":\"" CANARY " 2\"}}",
                          NULL),
                     200);
    assert_int_equal(f->h.calls, 2);
    assert_false(f->h.canary_seen);

    /* stage and comment make ops too */
    snprintf(path, sizeof(path), "/v1/objects/%s/stage", hex);
    assert_int_equal(call(f, "POST", path, "{\"stage\":\"proposal\"}", NULL),
                     200);
    assert_int_equal(f->h.calls, 3);
    snprintf(path, sizeof(path), "/v1/objects/%s/comments", hex);
    assert_int_equal(call(f, "POST", path, "{\"text\":\"hi\"}", NULL), 200);
    assert_int_equal(f->h.calls, 4);
    s = show(f, hex);
    assert_non_null(strstr(s, "\"stage\":\"Proposal\""));
    assert_non_null(strstr(s, "\"text\":\"hi\""));
    free(s);

    /* refusals say the real rule: the template's stages, the size limit */
    snprintf(path, sizeof(path), "/v1/objects/%s/stage", hex);
    assert_int_equal(call(f, "POST", path, "{\"stage\":\"Won\"}", &j), 400);
    assert_string_equal(err_msg(j),
                        "stage \"Won\" of opportunity is not one of: "
                        "\"Prospecting\", \"Qualification\", \"Solution\", "
                        "\"Proposal\", \"Negotiation\", \"Closed Won\", "
                        "\"Closed Lost\"");
    json_decref(j);
    char *big = malloc(4200 + 16);
    assert_non_null(big);
    memcpy(big, "{\"text\":\"", 9);
    memset(big + 9, 'x', 4097);
    strcpy(big + 9 + 4097, "\"}");
    snprintf(path, sizeof(path), "/v1/objects/%s/comments", hex);
    assert_int_equal(call(f, "POST", path, big, &j), 413);
    assert_string_equal(err_msg(j),
                        "comment is 4097 bytes; a comment is at most 4096 "
                        "bytes");
    json_decref(j);
    free(big);
    assert_int_equal(call(f, "POST", path, "{\"text\":\"bell\\u0007\"}", &j),
                     400);
    assert_non_null(strstr(err_msg(j), "UTF-8 without control characters"));
    json_decref(j);
    assert_int_equal(f->h.calls, 4); /* refusals made no op */

    /* list and the type filter */
    assert_int_equal(call(f, "GET", "/v1/objects?type=opportunity", NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    assert_int_equal(call(f, "GET", "/v1/objects?type=lead", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
}

/* Every hostile request below is refused and changes nothing. */
static void test_refusals_change_nothing(void **state) {
    fx *f = *state;
    char hex[65], path[200];
    json_t *j = NULL;
    create_opp(f, hex);
    char *before = show(f, hex);
    int calls = f->h.calls;
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);

    struct {
        const char *method, *path, *body;
        int status;
        const char *code;
    } cases[] = {
        {"POST", "/v1/objects", "{\"type\":", 400, "ENT_EPROTO"},
        {"POST", "/v1/objects", "[1,2]", 400, "ENT_EPROTO"},
        {"POST", "/v1/objects", NULL, 400, "ENT_EPROTO"},
        {"POST", "/v1/objects", "{\"type\":\"opportunity\",\"bogus\":1}", 400,
         "ENT_EINVAL"},
        {"POST", "/v1/objects", "{\"set\":{}}", 400, "ENT_EINVAL"},
        {"POST", "/v1/objects", "{\"type\":7}", 400, "ENT_EINVAL"},
        {"POST", "/v1/objects", "{\"type\":\"../etc\"}", 400, "ENT_EINVAL"},
        {"POST", "/v1/objects", "{\"type\":\"nosuch\"}", 404, "ENT_ENOENT"},
        {"POST", "/v1/objects",
         "{\"type\":\"opportunity\",\"set\":{\"name\":5}}", 400, "ENT_EINVAL"},
        {"POST", "/v1/objects",
         "{\"type\":\"opportunity\",\"set\":{\"\":\"x\"}}", 400, "ENT_EINVAL"},
        {"POST", "/v1/objects", "{\"type\":\"opportunity\",\"set\":[]}", 400,
         "ENT_EINVAL"},
        {"POST", "/v1/objects",
         "{\"type\":\"opportunity\",\"set\":{\"deal_size\":\"5\"}}", 400,
         "ENT_ESCHEMA"},
        {"POST", "/v1/objects",
         "{\"type\":\"opportunity\",\"set\":{\"close_date\":\"2026-02-30\"}}",
         400, "ENT_EINVAL"},
        {"POST", path, "{\"set\":{\"close_date\":\"tomorrow\"}}", 400,
         "ENT_EINVAL"},
        {"POST", path, "{\"private\":{\"deal_size\":\"1 XYZ\"}}", 400,
         "ENT_EINVAL"},
        {"POST", path, "{\"set\":{\"deal_size\":\"5\"}}", 400, "ENT_ESCHEMA"},
        {"POST", path, "{\"set\":{\"name\":\"x\"},\"extra\":{}}", 400,
         "ENT_EINVAL"},
        {"POST", path, "{}", 400, "ENT_EINVAL"},
        {"POST", path, "{\"set\":{\"name\":\"ok\",\"close_date\":\"no\"}}", 400,
         "ENT_EINVAL"},
        {"GET",
         "/v1/objects/0000000000000000000000000000000000000000000000"
         "000000000000000000",
         NULL, 404, "ENT_ENOENT"},
        {"POST",
         "/v1/objects/0000000000000000000000000000000000000000000000"
         "000000000000000000",
         "{\"set\":{\"name\":\"x\"}}", 404, "ENT_ENOENT"},
        {"GET", "/v1/objects/ABCDEF", NULL, 400, "ENT_EINVAL"},
        {"GET", "/v1/objects/", NULL, 404, "ENT_ENOENT"},
        {"GET", "/v1/objects?type=a%2Fb", NULL, 400, "ENT_EINVAL"},
        {"GET", "/v1/objects?order=id", NULL, 400, "ENT_EINVAL"},
        {"GET", "/v1/objects?type=lead&type=lead", NULL, 400, "ENT_EINVAL"},
        {"DELETE", path, NULL, 405, "ENT_EMETHOD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = call(f, cases[i].method, cases[i].path, cases[i].body, &j);
        if (st != cases[i].status || strcmp(err_code(j), cases[i].code) != 0)
            fail_msg("case %zu (%s %s %s): %d %s, want %d %s", i,
                     cases[i].method, cases[i].path,
                     cases[i].body ? cases[i].body : "", st, err_code(j),
                     cases[i].status, cases[i].code);
        assert_non_null(err_msg(j));
        json_decref(j);
        j = NULL;
    }
    /* the engine's own reason reaches the client, naming the field */
    assert_int_equal(
        call(f, "POST", path, "{\"set\":{\"deal_size\":\"5\"}}", &j), 400);
    assert_non_null(strstr(err_msg(j), "private"));
    assert_string_equal(err_field(j), "deal_size");
    json_decref(j);
    struct {
        const char *method, *path, *body, *field;
    } fields[] = {
        {"POST", "/v1/objects", "{\"type\":\"opportunity\",\"bogus\":1}",
         "bogus"},
        {"POST", "/v1/objects", "{\"set\":{}}", "type"},
        {"POST", "/v1/objects", "{\"type\":\"../etc\"}", "type"},
        {"POST", "/v1/objects",
         "{\"type\":\"opportunity\",\"set\":{\"name\":5}}", "name"},
        {"POST", "/v1/objects", "{\"type\":\"opportunity\",\"set\":[]}", "set"},
        {"POST", path, "{\"set\":{\"close_date\":\"tomorrow\"}}", "close_date"},
        {"POST", path, "{\"set\":{\"name\":\"ok\",\"close_date\":\"no\"}}",
         "close_date"},
        {"POST", path, "{\"set\":{\"nme\":\"x\"}}", "nme"},
        {"GET", "/v1/objects/ABCDEF", NULL, "id"},
        {"GET", "/v1/objects?limit=0", NULL, "limit"},
        {"GET", "/v1/objects?order=id", NULL, "order"},
        {"PUT", "/v1/config", "{\"default_currency\":\"eur\"}",
         "default_currency"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int st = call(f, fields[i].method, fields[i].path, fields[i].body, &j);
        const char *got = err_field(j);
        if (st != 400 || got == NULL || strcmp(got, fields[i].field) != 0)
            fail_msg("%s %s %s: %d field %s, want 400 field %s",
                     fields[i].method, fields[i].path,
                     fields[i].body ? fields[i].body : "", st,
                     got ? got : "null", fields[i].field);
        json_decref(j);
        j = NULL;
    }
    /* an error about no input has field null */
    assert_int_equal(call(f, "POST", "/v1/objects", "[1]", &j), 400);
    assert_true(
        json_is_null(json_object_get(json_object_get(j, "error"), "field")));
    json_decref(j);

    /* object id path variants */
    char bad[200];
    snprintf(bad, sizeof(bad), "/v1/objects/%s/nothing", hex);
    assert_int_equal(call(f, "GET", bad, NULL, NULL), 404);
    assert_int_equal(call(f, "POST", bad, "{}", NULL), 404);
    snprintf(bad, sizeof(bad), "/v1/objects/%s?hide_private=yes", hex);
    assert_int_equal(call(f, "GET", bad, NULL, NULL), 400);
    for (size_t i = 0; i < 64; i++) { /* upper case is not the printable form */
        snprintf(bad, sizeof(bad), "/v1/objects/%s", hex);
        if (bad[12 + i] >= 'a' && bad[12 + i] <= 'f') {
            bad[12 + i] = (char)(bad[12 + i] - 'a' + 'A');
            break;
        }
    }
    assert_int_equal(call(f, "GET", bad, NULL, NULL), 400);

    /* more than ENT_API_OBJ_MAX_INPUTS fields */
    size_t cap = 64 + (ENT_API_OBJ_MAX_INPUTS + 1) * 16;
    char *big = malloc(cap);
    size_t off = (size_t)snprintf(big, cap, "{\"set\":{");
    for (int i = 0; i <= ENT_API_OBJ_MAX_INPUTS; i++)
        off += (size_t)snprintf(big + off, cap - off, "%s\"f%d\":\"v\"",
                                i ? "," : "", i);
    snprintf(big + off, cap - off, "}}");
    assert_int_equal(call(f, "POST", path, big, &j), 400);
    assert_string_equal(err_code(j), "ENT_ELIMIT");
    json_decref(j);
    free(big);

    /* a body over the HTTP limit */
    char head[128];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
                      "/v1/objects", ENT_HTTP_MAX_BODY + 1);
    assert_int_equal(call_raw(f, head, (size_t)hl, NULL), 413);

    char *after = show(f, hex);
    assert_string_equal(before, after);
    assert_int_equal(f->h.calls, calls);
    assert_int_equal(count_objects(f), 1);
    free(before);
    free(after);
}

static void test_templates(void **state) {
    fx *f = *state;
    json_t *j = NULL, *tpl = NULL;
    char hex[65], path[160];
    assert_int_equal(call(f, "GET", "/v1/templates", NULL, &j), 200);
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(j, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "type")),
                   "opportunity") == 0) {
            found = true;
            assert_true(json_is_true(json_object_get(t, "builtin")));
            assert_true(json_is_false(json_object_get(t, "stored")));
        }
    }
    assert_true(found);
    json_decref(j);

    assert_int_equal(call(f, "GET", "/v1/templates/opportunity", NULL, &tpl),
                     200);
    assert_int_equal(call(f, "GET", "/v1/templates/nosuch", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call(f, "GET", "/v1/templates/Bad-Name", NULL, NULL), 400);
    assert_int_equal(call(f, "DELETE", "/v1/templates/opportunity", NULL, NULL),
                     404); /* nothing stored yet */

    /* refused puts */
    assert_int_equal(call(f, "PUT", "/v1/templates/lead",
                          "{\"type\":\"opportunity\",\"fields\":[]}", &j),
                     400);
    assert_non_null(strstr(err_msg(j), "does not match"));
    json_decref(j);
    assert_int_equal(call(f, "PUT", "/v1/templates/opportunity",
                          "{\"type\":\"opportunity\",\"fields\":[],"
                          "\"unknown\":1}",
                          &j),
                     400);
    json_decref(j);
    assert_int_equal(call(f, "PUT", "/v1/templates/opportunity", "nope", &j),
                     400);
    json_decref(j);

    /* a strict copy refuses unknown fields; the round trip is exact */
    json_t *strict = json_deep_copy(tpl);
    json_object_set_new(strict, "strict", json_true());
    char *st = json_dumps(strict, JSON_COMPACT);
    assert_int_equal(call(f, "PUT", "/v1/templates/opportunity", st, &j), 200);
    json_decref(j);
    free(st);
    create_opp(f, hex);
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    char *before = show(f, hex);
    assert_int_equal(call(f, "POST", path, "{\"set\":{\"tier\":\"gold\"}}", &j),
                     400);
    assert_string_equal(err_code(j), "ENT_ESCHEMA");
    json_decref(j);
    char *after = show(f, hex);
    assert_string_equal(before, after);
    free(before);
    free(after);

    char *orig = json_dumps(tpl, JSON_COMPACT | JSON_SORT_KEYS);
    assert_int_equal(call(f, "PUT", "/v1/templates/opportunity", orig, NULL),
                     200);
    assert_int_equal(call(f, "GET", "/v1/templates/opportunity", NULL, &j),
                     200);
    char *back = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(orig, back);
    free(back);
    json_decref(j);
    /* a typo is not shared: --set refuses a field the template does not
     * list, naming the nearest one; "custom" shares it on purpose, and
     * "remove" takes it away again */
    assert_int_equal(call(f, "POST", path,
                          "{\"set\":{\"clos_date\":\"2026-01-01\"}}", &j),
                     400);
    assert_string_equal(err_code(j), "ENT_ESCHEMA");
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(j, "error"), "message")),
                           "did you mean close_date?"));
    json_decref(j);
    assert_int_equal(
        call(f, "POST", path, "{\"set\":{\"tier\":\"gold\"}}", &j), 400);
    json_decref(j);
    assert_int_equal(
        call(f, "POST", path, "{\"custom\":{\"tier\":\"gold\"}}", NULL),
        200);
    char *s = show(f, hex);
    assert_non_null(strstr(s, "\"tier\":\"gold\""));
    free(s);
    assert_int_equal(call(f, "POST", path,
                          "{\"custom\":{\"close_date\":\"2026-01-01\"}}",
                          &j),
                     400);
    json_decref(j);
    assert_int_equal(call(f, "POST", path, "{\"remove\":[\"close_date\"]}",
                          &j),
                     400);
    json_decref(j);
    assert_int_equal(call(f, "POST", path, "{\"remove\":\"tier\"}", &j),
                     400);
    json_decref(j);
    assert_int_equal(
        call(f, "POST", path, "{\"remove\":[\"tier\"]}", NULL), 200);
    s = show(f, hex);
    assert_null(strstr(s, "\"tier\""));
    free(s);

    /* the configuration tables, and no "stages" table beside the
     * templates' stages */
    assert_int_equal(call(f, "GET", "/v1/config-tables", NULL, &j), 200);
    assert_true(json_is_array(j));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, 0), "name")),
        "forecast_categories");
    json_decref(j);
    assert_int_equal(call(f, "PUT", "/v1/config/stages",
                          "{\"values\":[\"Discovery\"]}", &j),
                     400);
    json_decref(j);

    assert_int_equal(call(f, "DELETE", "/v1/templates/opportunity", NULL, NULL),
                     200);
    assert_int_equal(call(f, "GET", "/v1/templates", NULL, &j), 200);
    json_array_foreach(j, i, t) {
        assert_true(json_is_false(json_object_get(t, "stored")));
    }
    json_decref(j);
    free(orig);
    json_decref(strict);
    json_decref(tpl);
}

static void test_config(void **state) {
    fx *f = *state;
    json_t *j = NULL;
    assert_int_equal(call(f, "GET", "/v1/config/regions", NULL, &j), 200);
    assert_true(json_array_size(json_object_get(j, "values")) > 0);
    json_decref(j);
    assert_int_equal(call(f, "GET", "/v1/config/Bad!", NULL, NULL), 400);
    assert_int_equal(call(f, "PUT", "/v1/config/regions",
                          "{\"values\":[\"Mars\",\"Mars\"]}", NULL),
                     400);
    assert_int_equal(call(f, "PUT", "/v1/config/regions",
                          "{\"values\":[\"Mars\"],\"x\":1}", NULL),
                     400);
    assert_int_equal(
        call(f, "PUT", "/v1/config/regions", "{\"values\":[\"Mars\",7]}", NULL),
        400);
    assert_int_equal(call(f, "PUT", "/v1/config/regions",
                          "{\"values\":[\"Mars\",\"Venus\"]}", &j),
                     200);
    assert_int_equal(json_array_size(json_object_get(j, "values")), 2);
    /* a write over a version read: refused once another write came
     * between (nothing stored), taken over the version now */
    char v1[33], v2[33], body[160];
    const char *v = json_string_value(json_object_get(j, "version"));
    assert_non_null(v);
    assert_int_equal(strlen(v), 32);
    snprintf(v1, sizeof(v1), "%s", v);
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"values\":[\"Mars\",\"Venus\",\"Io\"],\"if_version\":\"%s\"}",
             v1);
    assert_int_equal(call(f, "PUT", "/v1/config/regions", body, &j), 200);
    snprintf(v2, sizeof(v2), "%s",
             json_string_value(json_object_get(j, "version")));
    assert_string_not_equal(v1, v2);
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"values\":[\"Mars\"],\"if_version\":\"%s\"}", v1);
    assert_int_equal(call(f, "PUT", "/v1/config/regions", body, &j), 409);
    const char *code =
        json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    assert_non_null(code);
    assert_string_equal(code, "ENT_ECONFLICT");
    json_decref(j);
    assert_int_equal(call(f, "GET", "/v1/config/regions", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "values")), 3);
    assert_string_equal(json_string_value(json_object_get(j, "version")), v2);
    json_decref(j);
    assert_int_equal(call(f, "PUT", "/v1/config/regions",
                          "{\"values\":[\"Mars\"],\"if_version\":\"ABC\"}",
                          NULL),
                     400);
    assert_int_equal(call(f, "PUT", "/v1/config/regions",
                          "{\"values\":[\"Mars\"],\"if_version\":7}", NULL),
                     400);
    snprintf(body, sizeof(body),
             "{\"values\":[\"Mars\",\"Venus\"],\"if_version\":\"%s\"}", v2);
    assert_int_equal(call(f, "PUT", "/v1/config/regions", body, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "values")), 2);
    json_decref(j);
    /* a table not stored yet is at the empty list's version */
    assert_int_equal(call(f, "PUT", "/v1/config/moons",
                          "{\"values\":[\"Io\"],\"if_version\":"
                          "\"0e5751c026e543b2e8ab2eb06099daa1\"}",
                          NULL),
                     200);
    assert_int_equal(call(f, "PUT", "/v1/config/moons",
                          "{\"values\":[\"Europa\"],\"if_version\":"
                          "\"0e5751c026e543b2e8ab2eb06099daa1\"}",
                          NULL),
                     409);
    /* the new table drives enum values */
    assert_int_equal(call(f, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"region\":"
                          "\"EMEA\"}}",
                          NULL),
                     400);
    assert_int_equal(call(f, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"region\":"
                          "\"venus\"}}",
                          NULL),
                     201);

    /* default currency */
    assert_int_equal(call(f, "GET", "/v1/config", NULL, &j), 200);
    assert_string_equal(
        json_string_value(json_object_get(j, "default_currency")), "USD");
    json_decref(j);
    assert_int_equal(
        call(f, "PUT", "/v1/config", "{\"default_currency\":\"XYZ\"}", NULL),
        400);
    assert_int_equal(
        call(f, "PUT", "/v1/config", "{\"default_currency\":\"JPY\"}", NULL),
        200);
    assert_int_equal(call(f, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"private\":{"
                          "\"deal_size\":\"1500\"}}",
                          &j),
                     201);
    char hex[65];
    strcpy(hex, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    char *s = show(f, hex);
    assert_non_null(strstr(s, "\"currency\":\"JPY\""));
    assert_non_null(strstr(s, "\"minor\":1500"));
    free(s);
}

/* The engine survives closing and reopening the node. */
/* True if s is RFC 3339 UTC with milliseconds, as every API time is. */
static bool is_time(const char *s) {
    uint64_t ms;
    return s != NULL && strlen(s) == ENT_TIMEFMT_RFC3339_LEN &&
           s[ENT_TIMEFMT_RFC3339_LEN - 1] == 'Z' &&
           ent_timefmt_parse(s, &ms) == ENT_OK && ms > 0;
}

/* One encoding per kind of value: names (never the org id in their place),
 * RFC 3339 times, base32 orgs, in the object, the log and the peers. */
static void test_values(void **state) {
    fx *f = *state;
    char hex[65], path[160];
    json_t *j = NULL;
    create_opp(f, hex);
    snprintf(path, sizeof(path), "/v1/objects/%s/comments", hex);
    assert_int_equal(call(f, "POST", path, "{\"text\":\"hello\"}", NULL), 200);
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    const json_t *m = json_array_get(json_object_get(j, "members"), 0);
    const json_t *c = json_array_get(json_object_get(j, "comments"), 0);
    assert_string_equal(json_string_value(json_object_get(m, "name")), "Acme");
    assert_string_equal(json_string_value(json_object_get(c, "name")), "Acme");
    assert_string_equal(json_string_value(json_object_get(c, "org")),
                        ent_node_org_id(f->n));
    assert_true(is_time(json_string_value(json_object_get(c, "time"))));
    assert_null(json_object_get(c, "hlc"));
    json_decref(j);

    assert_int_equal(call(f, "GET", "/v1/log", NULL, &j), 200);
    const json_t *e = json_array_get(json_object_get(j, "entries"), 0);
    assert_true(is_time(json_string_value(json_object_get(e, "time"))));
    assert_string_equal(json_string_value(json_object_get(e, "org")),
                        ent_node_org_id(f->n));
    assert_string_equal(json_string_value(json_object_get(e, "name")), "Acme");
    json_decref(j);

    /* an org the node knows no name for: null, not its id */
    uint8_t stranger[32];
    memset(stranger, 7, sizeof(stranger));
    j = ent_api_org_name_json(f->n, stranger);
    assert_true(json_is_null(j));
    json_decref(j);
    j = ent_api_time_json(0);
    assert_true(json_is_null(j));
    json_decref(j);
    j = ent_api_time_json(UINT64_C(1796445178123));
    assert_string_equal(json_string_value(j), "2026-12-05T04:32:58.123Z");
    json_decref(j);
}

/* Creates an object of type with the fields of set (a JSON object text);
 * returns its id in hex. */
static void create_with(fx *f, const char *type, const char *set,
                        char hex[65]) {
    char body[512];
    snprintf(body, sizeof(body), "{\"type\":\"%s\",\"set\":%s}", type, set);
    create_body(f, body, hex);
}

/* The "key" of every row of GET path, joined with commas. */
static void list_keys(fx *f, const char *path, const char *key, char *out,
                      size_t cap) {
    json_t *j = NULL, *r;
    size_t i, o = 0;
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    out[0] = '\0';
    json_array_foreach(j, i, r) {
        const char *v = json_string_value(json_object_get(r, key));
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "",
                              v ? v : "-");
    }
    json_decref(j);
}

/* GET /v1/objects: title, stage and date; filters, sort, limit, prefix. */
static void test_list(void **state) {
    fx *f = *state;
    char a[65], b[65], c[65], d[65], got[1024], path[256];
    create_with(f, "opportunity",
                "{\"name\":\"Beta\",\"close_date\":\"2027-01-31\","
                "\"stage\":\"Closed Won\"}",
                a);
    create_with(f, "opportunity",
                "{\"name\":\"Alpha\",\"close_date\":\"2026-06-30\"}", b);
    create_with(f, "opportunity", "{\"stage\":\"Negotiation\"}", c);
    create_with(f, "lead", "{\"company\":\"Initech\"}", d);

    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/objects?prefix=%s", a);
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    const json_t *r = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(r, "title")), "Beta");
    assert_string_equal(json_string_value(json_object_get(r, "stage")),
                        "Closed Won");
    assert_string_equal(json_string_value(json_object_get(r, "date")),
                        "2027-01-31");
    assert_string_equal(json_string_value(json_object_get(r, "status")),
                        "active");
    json_decref(j);
    /* the lead's title is its first text field; it has no date */
    snprintf(path, sizeof(path), "/v1/objects?prefix=%.10s", d);
    list_keys(f, path, "title", got, sizeof(got));
    assert_string_equal(got, "Initech");
    list_keys(f, path, "date", got, sizeof(got));
    assert_string_equal(got, "-");

    /* filters; stage ignores case and is percent-decoded */
    list_keys(f, "/v1/objects?type=opportunity&sort=title", "title", got,
              sizeof(got));
    assert_string_equal(got, "Alpha,Beta,-"); /* no title: last */
    list_keys(f, "/v1/objects?stage=closed%20won", "title", got, sizeof(got));
    assert_string_equal(got, "Beta");
    list_keys(f, "/v1/objects?stage=closed+WON", "title", got, sizeof(got));
    assert_string_equal(got, "Beta");
    list_keys(f, "/v1/objects?stage=nowhere", "title", got, sizeof(got));
    assert_string_equal(got, "");
    /* sorting no rows (the web page's table filtered to an empty stage):
     * an empty list, not a NULL array handed to qsort_r */
    list_keys(f, "/v1/objects?stage=nowhere&sort=title", "title", got,
              sizeof(got));
    assert_string_equal(got, "");

    /* sort by date both ways (no date: last either way), by stage in the
     * template's order (the default stage is Prospecting) */
    list_keys(f, "/v1/objects?sort=date", "date", got, sizeof(got));
    assert_string_equal(got, "2026-06-30,2027-01-31,-,-");
    list_keys(f, "/v1/objects?sort=-date", "date", got, sizeof(got));
    assert_string_equal(got, "2027-01-31,2026-06-30,-,-");
    list_keys(f, "/v1/objects?type=opportunity&sort=stage", "stage", got,
              sizeof(got));
    assert_string_equal(got, "Prospecting,Negotiation,Closed Won");
    list_keys(f, "/v1/objects?type=opportunity&sort=-stage", "stage", got,
              sizeof(got));
    assert_string_equal(got, "Closed Won,Negotiation,Prospecting");

    /* limit after sorting; id order by default */
    list_keys(f, "/v1/objects?sort=-date&limit=1", "date", got, sizeof(got));
    assert_string_equal(got, "2027-01-31");
    char ids[4][65];
    strcpy(ids[0], a);
    strcpy(ids[1], b);
    strcpy(ids[2], c);
    strcpy(ids[3], d);
    qsort(ids, 4, sizeof(ids[0]), (int (*)(const void *, const void *))strcmp);
    list_keys(f, "/v1/objects?limit=2", "id", got, sizeof(got));
    snprintf(path, sizeof(path), "%s,%s", ids[0], ids[1]);
    assert_string_equal(got, path);
    list_keys(f, "/v1/objects?sort=-id&limit=1", "id", got, sizeof(got));
    assert_string_equal(got, ids[3]);

    /* prefixes: any length from 1, odd ones too */
    snprintf(path, sizeof(path), "/v1/objects?prefix=%.1s", a);
    list_keys(f, path, "id", got, sizeof(got));
    assert_non_null(strstr(got, a));
    snprintf(path, sizeof(path), "/v1/objects?prefix=%.7s", a);
    list_keys(f, path, "id", got, sizeof(got));
    assert_string_equal(got, a);

    /* bad queries change nothing and say why */
    const char *bad[] = {"/v1/objects?sort=size",      "/v1/objects?limit=0",
                         "/v1/objects?limit=x",        "/v1/objects?limit=-1",
                         "/v1/objects?prefix=XY",      "/v1/objects?prefix=",
                         "/v1/objects?stage=",         "/v1/objects?stage=a%2",
                         "/v1/objects?stage=a%00",     "/v1/objects?type=Bad",
                         "/v1/objects?sort=id&sort=id"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = NULL;
        assert_int_equal(call(f, "GET", bad[i], NULL, &j), 400);
        assert_string_equal(err_code(j), "ENT_EINVAL");
        json_decref(j);
    }
}

static void test_reopen(void **state) {
    fx *f = *state;
    char hex[65];
    create_opp(f, hex);
    char *before = show(f, hex);
    ent_node_free(f->n);
    node_open(&f->n, &f->loop, f->home, NULL);
    char *after = show(f, hex);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_show_and_hook, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
