/*
 * openapi_test.c - spec/openapi.yaml and the server's route table are the
 * same list, and every documented answer is the one the server gives.
 *
 * The route table (ent_api_builtin_routes) goes to tests/openapi_check.py
 * (python3-yaml), which fails naming each route the document lacks and
 * each operation the server lacks, and hands back a plan: per route its
 * path parameters, the example body and its path's methods. This test then
 * drives every operation against a real node (ent_api_dispatch, no
 * sockets), several ways:
 *
 *   sample    the operator, sample path values, the documented example
 *   badtoken  the same with "Authorization: Bearer" of a token that is not
 *   user      a GET with the token of a user without rules (mostly 403)
 *   badjson   a body that is not JSON (operations that take a body)
 *   badparam  each path parameter replaced by a malformed value: a 400
 *             must name the parameter in "field"
 *   query     each documented query parameter with its example: not 400
 *   405       a method the path does not have: 405, Allow as documented
 *
 * and the checker holds every answer to the document: its status is
 * documented for the operation, an error body is the Error schema
 * ({"error":{"code","message","field"}}), a 2xx body its schema.
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

typedef struct fx {
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    char hook[32]; /* a webhook's id */
    char obj[65];       /* an object of the node's */
    char invite[33];    /* an unused invite of obj */
    char token_id[64];  /* a token of user tom (revoked on the way) */
    char user_tok[128]; /* another of tom's, the one requests use */
} fx;

/* Goes to the top of the source tree, where spec/ and tests/ are (make
 * runs the tests there; a binary run from elsewhere finds it from its own
 * path build/asan/tests/). */
static void to_top(void) {
    char exe[PATH_MAX];
    ssize_t l;
    if (access("spec/openapi.yaml", R_OK) == 0)
        return;
    l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(l > 0);
    exe[l] = '\0';
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
    assert_int_equal(chdir(exe), 0);
    assert_int_equal(access("spec/openapi.yaml", R_OK), 0);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    to_top();
    nodes_tmpdir(f->tmp, "/tmp", "openapi-test");
    node_home(f->home, f->tmp, "home", "Acme", NULL);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    node_open(&f->n, &f->loop, f->home, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    /* streamed answers (GET /v1/events) close their timers on the loop */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    ent_node_free(f->n);
    uv_loop_close(&f->loop);
    /* OPENAPI_KEEP=1 keeps routes.json, plan.json and results.json */
    if (getenv("OPENAPI_KEEP") == NULL)
        rm_tree(f->tmp);
    else
        fprintf(stderr, "kept %s\n", f->tmp);
    free(f);
    return 0;
}

/* Dispatches METHOD PATH with body (NULL: none) and the bearer token (NULL:
 * the operator) into resp (the caller clears it). */
static void call(fx *f, const char *token, const char *method, const char *path,
                 const char *body, ent_http_response *resp) {
    size_t bl = body ? strlen(body) : 0;
    size_t cap = strlen(path) + bl + 512;
    char *text = malloc(cap), auth[256] = "";
    ent_http_request req;
    assert_non_null(text);
    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    int n = snprintf(text, cap,
                     "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n"
                     "\r\n%s",
                     method, path, auth, bl, body ? body : "");
    assert_int_equal(ent_http_parse((const uint8_t *)text, (size_t)n, &req),
                     ENT_OK);
    memset(resp, 0, sizeof(*resp));
    ent_api_dispatch(f->n, &req, resp);
    ent_http_request_clear(&req);
    free(text);
}

/* The operator's call that must answer want; *out (may be NULL) the body. */
static void must(fx *f, const char *method, const char *path, const char *body,
                 int want, json_t **out) {
    ent_http_response resp;
    call(f, NULL, method, path, body, &resp);
    if (resp.status != want) {
        char *s = resp.body ? json_dumps(resp.body, 0) : NULL;
        fail_msg("%s %s: %d %s, want %d", method, path, resp.status, s ? s : "",
                 want);
    }
    if (out != NULL) {
        *out = resp.body;
        resp.body = NULL;
    }
    ent_http_response_clear(&resp);
}

/* What the sample requests use: an object, an invite of it, users bob
 * (removed by DELETE /v1/users/{name}) and tom, two tokens of tom's. */
static void sample_data(fx *f) {
    json_t *j = NULL;
    must(f, "POST", "/v1/objects",
         "{\"type\":\"opportunity\",\"set\":{\"name\":\"Deal\"}}", 201, &j);
    strcpy(f->obj, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    char path[128];
    /* an invite names an address to dial: the node is not listening */
    must(f, "PUT", "/v1/config", "{\"advertise\":\"127.0.0.1:7000\"}", 200,
         NULL);
    snprintf(path, sizeof(path), "/v1/objects/%s/invites", f->obj);
    must(f, "POST", path, NULL, 201, &j);
    strcpy(f->invite, json_string_value(json_object_get(j, "invite_id")));
    json_decref(j);
    must(f, "POST", "/v1/users", "{\"name\":\"bob\",\"role\":\"admin\"}", 201,
         NULL);
    must(f, "POST", "/v1/users", "{\"name\":\"tom\",\"role\":\"rep\"}", 201,
         NULL);
    must(f, "POST", "/v1/tokens", "{\"user\":\"tom\"}", 201, &j);
    snprintf(f->token_id, sizeof(f->token_id), "%s",
             json_string_value(json_object_get(j, "id")));
    json_decref(j);
    must(f, "POST", "/v1/tokens", "{\"user\":\"tom\"}", 201, &j);
    snprintf(f->user_tok, sizeof(f->user_tok), "%s",
             json_string_value(json_object_get(j, "token")));
    json_decref(j);
    must(f, "POST", "/v1/webhooks",
         "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"fields."
         "changed\"]}",
         201, &j);
    snprintf(f->hook, sizeof(f->hook), "%s",
             json_string_value(json_object_get(j, "id")));
    json_decref(j);
}

/* The sample value of path parameter name in template. */
static const char *sample(const fx *f, const char *tpl, const char *name) {
    if (strcmp(name, "id") == 0)
        return strncmp(tpl, "/v1/tokens/", 11) == 0     ? f->token_id
               : strncmp(tpl, "/v1/policies/", 13) == 0 ? "1"
                                                        : f->obj;
    if (strcmp(name, "org") == 0)
        return ent_node_org_id(f->n);
    if (strcmp(name, "webhook") == 0)
        return f->hook;
    if (strcmp(name, "kind") == 0)
        return "pipeline";
    if (strcmp(name, "join") == 0)
        return "1";
    if (strcmp(name, "invite_id") == 0)
        return f->invite;
    if (strcmp(name, "type") == 0)
        return "note";
    if (strcmp(name, "name") == 0)
        return strncmp(tpl, "/v1/config/", 11) == 0  ? "regions"
               : strncmp(tpl, "/v1/views/", 10) == 0 ? "weekly"
                                                     : "bob";
    fail_msg("%s: no sample value for {%s}: add one to sample()", tpl, name);
    return NULL;
}

/* tpl with each {param} replaced by its sample, or by bad for the one
 * named bad_param. */
static void fill(const fx *f, const char *tpl, const char *bad_param,
                 const char *bad, char *out, size_t cap) {
    size_t o = 0;
    for (const char *p = tpl; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            char name[64];
            assert_non_null(close);
            snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
            const char *v = bad_param != NULL && strcmp(name, bad_param) == 0
                                ? bad
                                : sample(f, tpl, name);
            o += (size_t)snprintf(out + o, cap - o, "%s", v);
            p = close + 1;
        } else {
            assert_true(o + 1 < cap);
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* Adds what the server answered to results. */
static void record(json_t *results, const char *kind, const char *method,
                   const char *tpl, const char *url, const char *param,
                   const ent_http_response *resp) {
    char *body = resp->body != NULL
                     ? json_dumps(resp->body, JSON_COMPACT | JSON_ENCODE_ANY)
                     : NULL;
    json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "kind", kind,
                          "method", method, "path", tpl, "url", url, "status",
                          resp->status, "content_type",
                          resp->body != NULL ? "application/json"
                          : resp->stream != NULL
                              ? resp->stream->content_type /* a stream */
                          : resp->content_type != NULL ? resp->content_type
                                                       : "",
                          "allow", resp->allow, "body",
                          body != NULL         ? body
                          : resp->text != NULL ? resp->text
                                               : "");
    assert_non_null(r);
    if (param != NULL)
        json_object_set_new(r, "param", json_string(param));
    json_array_append_new(results, r);
    free(body);
}

static void drive(fx *f, const json_t *op, json_t *results, json_t *seen) {
    const char *m = json_string_value(json_object_get(op, "method"));
    const char *tpl = json_string_value(json_object_get(op, "path"));
    const json_t *ex = json_object_get(op, "body");
    const json_t *params = json_object_get(op, "params");
    char url[1024], *body = NULL;
    ent_http_response resp;
    size_t i;
    json_t *pn;
    if (ex != NULL && !json_is_null(ex))
        body = json_dumps(ex, JSON_COMPACT | JSON_ENCODE_ANY);
    fill(f, tpl, NULL, NULL, url, sizeof(url));

    call(f, "nope-not-a-token", m, url, body, &resp);
    record(results, "badtoken", m, tpl, url, NULL, &resp);
    ent_http_response_clear(&resp);
    if (strcmp(m, "GET") == 0) { /* a user the policies mostly deny */
        call(f, f->user_tok, m, url, body, &resp);
        record(results, "user", m, tpl, url, NULL, &resp);
        ent_http_response_clear(&resp);
    }
    if (json_is_true(json_object_get(op, "has_body"))) {
        call(f, NULL, m, url, "{\"unclosed\":", &resp);
        record(results, "badjson", m, tpl, url, NULL, &resp);
        ent_http_response_clear(&resp);
    }
    json_array_foreach(params, i, pn) {
        char bad[1024];
        fill(f, tpl, json_string_value(pn), "-Bad-", bad, sizeof(bad));
        call(f, NULL, m, bad, body, &resp);
        record(results, "badparam", m, tpl, bad, json_string_value(pn), &resp);
        ent_http_response_clear(&resp);
    }
    if (json_object_get(seen, tpl) == NULL) { /* once per path */
        json_object_set_new(seen, tpl, json_true());
        call(f, NULL, "PATCH", url, NULL, &resp);
        record(results, "405", "PATCH", tpl, url, NULL, &resp);
        ent_http_response_clear(&resp);
    }
    json_t *q;
    json_array_foreach(json_object_get(op, "query"), i, q) {
        char qurl[1200];
        snprintf(qurl, sizeof(qurl), "%s?%s=%s", url,
                 json_string_value(json_array_get(q, 0)),
                 json_string_value(json_array_get(q, 1)));
        call(f, NULL, m, qurl, body, &resp);
        record(results, "query", m, tpl, qurl,
               json_string_value(json_array_get(q, 0)), &resp);
        ent_http_response_clear(&resp);
    }
    call(f, NULL, m, url, body, &resp);
    record(results, "sample", m, tpl, url, NULL, &resp);
    ent_http_response_clear(&resp);
    free(body);
}

static int run(const char *cmd) {
    fflush(stdout);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_openapi(void **state) {
    fx *f = *state;
    char routes[PATH_MAX + 32], plan[PATH_MAX + 32], res[PATH_MAX + 32],
        cmd[4 * PATH_MAX];
    size_t n = 0, i;
    const ent_api_route *r = ent_api_builtin_routes(&n);
    json_t *arr = json_array(), *op;
    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        assert_false(r[i].prefix); /* a built-in route is a template */
        json_array_append_new(arr, json_pack("{s:s,s:s}", "method", r[i].method,
                                             "path", r[i].path));
    }
    snprintf(routes, sizeof(routes), "%s/routes.json", f->tmp);
    snprintf(plan, sizeof(plan), "%s/plan.json", f->tmp);
    snprintf(res, sizeof(res), "%s/results.json", f->tmp);
    assert_int_equal(json_dump_file(arr, routes, 0), 0);
    json_decref(arr);
    snprintf(cmd, sizeof(cmd),
             "python3 tests/openapi_check.py plan spec/openapi.yaml %s %s",
             routes, plan);
    if (run(cmd) != 0)
        fail_msg("spec/openapi.yaml and the route table differ (above)");

    sample_data(f);
    json_error_t jerr;
    json_t *ops = json_load_file(plan, 0, &jerr), *results = json_array(),
           *seen = json_object();
    assert_non_null(ops);
    assert_int_equal(json_array_size(ops), n);
    json_array_foreach(ops, i, op) drive(f, op, results, seen);
    assert_int_equal(json_dump_file(results, res, JSON_INDENT(1)), 0);
    json_decref(results);
    json_decref(seen);
    json_decref(ops);
    snprintf(cmd, sizeof(cmd),
             "python3 tests/openapi_check.py check spec/openapi.yaml %s", res);
    if (run(cmd) != 0)
        fail_msg("answers that spec/openapi.yaml does not document (above)");
}

/* Runs the plan step over the route table changed by drop (the index of a
 * route left out, or -1) and extra (a route added, or NULL); returns its
 * exit status and its output in out. */
static int plan_with(fx *f, long drop, const char *extra_method,
                     const char *extra_path, char *out, size_t cap) {
    char routes[PATH_MAX + 32], plan[PATH_MAX + 32], cmd[3 * PATH_MAX];
    size_t n = 0, len = 0;
    const ent_api_route *r = ent_api_builtin_routes(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if ((long)i != drop)
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s}", "method", r[i].method,
                                            "path", r[i].path));
    if (extra_path != NULL)
        json_array_append_new(arr, json_pack("{s:s,s:s}", "method",
                                             extra_method, "path", extra_path));
    snprintf(routes, sizeof(routes), "%s/drift.json", f->tmp);
    snprintf(plan, sizeof(plan), "%s/drift-plan.json", f->tmp);
    assert_int_equal(json_dump_file(arr, routes, 0), 0);
    json_decref(arr);
    snprintf(cmd, sizeof(cmd),
             "python3 tests/openapi_check.py plan spec/openapi.yaml %s %s 2>&1",
             routes, plan);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    while (len + 1 < cap && fgets(out + len, (int)(cap - len), p) != NULL)
        len += strlen(out + len);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The failure names exactly the route that lacks documentation and the
 * operation that lacks a route, method included. */
static void test_drift_is_named(void **state) {
    fx *f = *state;
    char out[8192];
    size_t n = 0;
    const ent_api_route *r = ent_api_builtin_routes(&n);
    assert_int_equal(plan_with(f, -1, NULL, NULL, out, sizeof(out)), 0);
    assert_int_equal(
        plan_with(f, -1, "GET", "/v1/undocumented/{x}", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "route GET /v1/undocumented/{x} "
                                "(node/api/api.c builtin_routes) is not "
                                "documented in spec/openapi.yaml"));
    /* a known path with a method it does not document */
    assert_int_equal(plan_with(f, -1, "PUT", "/v1/status", out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "route PUT /v1/status "));
    char want[256];
    snprintf(want, sizeof(want),
             "spec/openapi.yaml documents %s %s, which the server does not "
             "have",
             r[n - 1].method, r[n - 1].path);
    assert_int_equal(plan_with(f, (long)n - 1, NULL, NULL, out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, want));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_openapi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_is_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
