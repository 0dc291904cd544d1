/*
 * api_events_test.c - GET /v1/events (node/api/api_events.c) without
 * sockets: the query parser's accepted and refused inputs, then a real
 * node driven through ent_api_dispatch(): the operator's page holds every
 * event, a rep's page leaves out the APAC object and the denied fields
 * (the canary appears nowhere in its bytes), pages chain with "next", a
 * cursor behind pruned events says "reset", a cursor beyond the newest is
 * 400, and a streamed answer that is never sent frees itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/api/api.h"
#include "node/api/api_events.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/home.h"
#include "node/node.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define CANARY "CANARY-MEMO-7731"

static void query_parse(void **state) {
    (void)state;
    ent_events_query q;
    char err[256];
    assert_int_equal(
        ent_api_events_query_parse(NULL, NULL, NULL, &q, err, sizeof(err)),
        ENT_OK);
    assert_true(q.follow);
    assert_false(q.has_after);
    assert_int_equal(q.limit, ENT_API_EVENTS_PAGE);
    assert_int_equal(ent_api_events_query_parse(
                         "after=7&kinds=fields.changed%2Cmember."
                         "joined&limit=5",
                         NULL, "application/json", &q, err, sizeof(err)),
                     ENT_OK);
    assert_false(q.follow);
    assert_int_equal(q.after, 7);
    assert_int_equal(q.nkinds, 2);
    assert_string_equal(q.kinds[1], "member.joined");
    assert_int_equal(q.limit, 5);
    /* Last-Event-ID wins over after */
    assert_int_equal(ent_api_events_query_parse("after=7&follow=true", "9",
                                                "application/json", &q, err,
                                                sizeof(err)),
                     ENT_OK);
    assert_true(q.follow);
    assert_int_equal(q.after, 9);
    const char *bad[] = {"after=-1",
                         "after=01",
                         "after=9223372036854775808",
                         "after=1&after=2",
                         "kinds=",
                         "kinds=a,,b",
                         "kinds=Fields",
                         "kinds=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
                         "object=abc",
                         "follow=yes",
                         "limit=0",
                         "limit=1001",
                         "nope=1",
                         "after",
                         "after=%zz"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (ent_api_events_query_parse(bad[i], NULL, NULL, &q, err,
                                       sizeof(err)) != ENT_EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(
        ent_api_events_query_parse(NULL, "12x", NULL, &q, err, sizeof(err)),
        ENT_EINVAL);
    assert_non_null(strstr(err, "Last-Event-ID"));
}

static int rm_entry(const char *p, const struct stat *sb, int t,
                    struct FTW *f) {
    (void)sb;
    (void)t;
    (void)f;
    remove(p);
    return 0;
}

typedef struct fx {
    char tmp[PATH_MAX], home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    char rep[ENT_TOKEN_STRLEN + 1];
    char emea[65], apac[65];
} fx;

/* Dispatches GET/POST PATH (token NULL: the operator); *out the body; the
 * answer's raw bytes (serialized) go to raw when not NULL. */
static int call(fx *f, const char *token, const char *method, const char *path,
                const char *body, json_t **out, char **raw) {
    char text[4096], auth[256] = "";
    ent_http_request req;
    ent_http_response resp = {0};
    size_t bl = body ? strlen(body) : 0;
    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    int n = snprintf(text, sizeof(text),
                     "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n"
                     "\r\n%s",
                     method, path, auth, bl, body ? body : "");
    assert_int_equal(ent_http_parse((const uint8_t *)text, (size_t)n, &req),
                     ENT_OK);
    ent_api_dispatch(f->n, &req, &resp);
    ent_http_request_clear(&req);
    int st = resp.status;
    if (raw != NULL) {
        size_t len;
        assert_int_equal(ent_http_response_serialize(&resp, raw, &len), ENT_OK);
    }
    if (out != NULL) {
        *out = resp.body;
        resp.body = NULL;
    }
    ent_http_response_clear(&resp);
    return st;
}

static void create(fx *f, const char *region, char hex[65]) {
    char body[512];
    json_t *j = NULL;
    snprintf(body, sizeof(body),
             "{\"type\":\"opportunity\",\"set\":{\"name\":\"Deal-%s\","
             "\"region\":\"%s\"},\"private\":{\"deal_size\":\"7777123.45 "
             "EUR\",\"memo\":\"" CANARY "\"}}",
             region, region);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects", body, &j, NULL), 201);
    strcpy(hex, json_string_value(json_object_get(j, "id")));
    json_decref(j);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    char org[ENT_ORG_ID_LEN + 1], err[256], id[ENT_TOKEN_ID_HEX + 1];
    uint32_t rid;
    ent_pwhash_cost cost;
    assert_int_equal(ent_crypto_init(), ENT_OK);
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/ent-apievents-test.XXXXXX");
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->home, sizeof(f->home), "%s/home", f->tmp);
    assert_int_equal(ent_home_init(f->home, "Acme", "127.0.0.1:0", NULL, org),
                     ENT_OK);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ent_daemon_open(&f->n, &f->loop, f->home, NULL), ENT_OK);
    ent_store *s = ent_node_store(f->n);
    ent_pwhash_cost_min(&cost);
    const char *rk[] = {"region"}, *rv[] = {"EMEA"};
    ent_user_spec rep = {.name = "rep",
                         .role = "rep",
                         .set_keys = rk,
                         .set_vals = rv,
                         .nset = 1,
                         .disabled = -1};
    assert_int_equal(ent_access_user_add(s, &rep, &cost, 1, err, sizeof(err)),
                     ENT_OK);
    static const char *const rules[] = {
        "allow role=rep read opportunity where region=$user.region",
        "deny role=rep read opportunity.deal_size",
        "deny role=rep read opportunity.memo",
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        assert_int_equal(
            ent_access_policy_add(s, rules[i], &rid, err, sizeof(err)), ENT_OK);
    assert_int_equal(
        ent_access_token_create(s, "rep", ENT_ACT_ALL, 0, 1, f->rep, id),
        ENT_OK);
    create(f, "EMEA", f->emea);
    create(f, "APAC", f->apac);
    char path[128];
    snprintf(path, sizeof(path), "/v1/objects/%s", f->emea);
    assert_int_equal(call(f, NULL, "POST", path,
                          "{\"set\":{\"next_step\":\"call\"}}", NULL, NULL),
                     200);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ent_node_free(f->n);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static size_t count_kind(const json_t *page, const char *kind) {
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(json_object_get(page, "events"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0)
            n++;
    }
    return n;
}

static void pages_and_views(void **state) {
    fx *f = *state;
    json_t *op = NULL, *rep = NULL;
    char *raw = NULL;
    /* the operator: 2 x (created, private) + 1 change */
    assert_int_equal(
        call(f, NULL, "GET", "/v1/events?follow=false", NULL, &op, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(op, "events")), 5);
    assert_int_equal(count_kind(op, "private.changed"), 2);
    assert_int_equal(json_integer_value(json_object_get(op, "next")), 5);
    assert_int_equal(json_integer_value(json_object_get(op, "last")), 5);
    assert_false(json_is_true(json_object_get(op, "reset")));
    char *s = json_dumps(op, JSON_COMPACT);
    assert_non_null(strstr(s, CANARY)); /* the control */
    free(s);
    /* rep: the EMEA object's creation and change, no private event, no
     * APAC, no canary, no denied field name */
    assert_int_equal(
        call(f, f->rep, "GET", "/v1/events?follow=false", NULL, &rep, &raw),
        200);
    assert_int_equal(json_array_size(json_object_get(rep, "events")), 2);
    assert_int_equal(count_kind(rep, "object.created"), 1);
    assert_int_equal(count_kind(rep, "fields.changed"), 1);
    assert_null(strstr(raw, CANARY));
    assert_null(strstr(raw, "7777123"));
    assert_null(strstr(raw, f->apac));
    assert_null(strstr(raw, "deal_size"));
    assert_null(strstr(raw, "memo"));
    assert_non_null(strstr(raw, f->emea));
    free(raw);
    /* pages chain: limit 2, then after next */
    json_t *p1 = NULL, *p2 = NULL;
    assert_int_equal(call(f, NULL, "GET", "/v1/events?follow=false&limit=2",
                          NULL, &p1, NULL),
                     200);
    assert_int_equal(json_integer_value(json_object_get(p1, "next")), 2);
    assert_int_equal(
        call(f, NULL, "GET",
             "/v1/events?follow=false&after=2&kinds=fields.changed", NULL, &p2,
             NULL),
        200);
    assert_int_equal(json_array_size(json_object_get(p2, "events")), 1);
    assert_int_equal(json_integer_value(json_object_get(p2, "next")), 5);
    json_t *e = NULL;
    assert_int_equal(
        call(f, NULL, "GET", "/v1/events?follow=false&after=9", NULL, &e, NULL),
        400);
    json_decref(e);
    assert_int_equal(call(f, NULL, "GET", "/v1/events?follow=false&bogus=1",
                          NULL, NULL, NULL),
                     400);
    json_decref(op);
    json_decref(rep);
    json_decref(p1);
    json_decref(p2);
}

static int prune_fn(ent_txn *txn, void *data) {
    return ent_events_prune(txn, 3, NULL);
}

static void reset_and_stream(void **state) {
    fx *f = *state;
    json_t *p = NULL;
    assert_int_equal(ent_store_write(ent_node_store(f->n), prune_fn, NULL),
                     ENT_OK);
    assert_int_equal(
        call(f, NULL, "GET", "/v1/events?follow=false&after=1", NULL, &p, NULL),
        200);
    assert_true(json_is_true(json_object_get(p, "reset")));
    assert_int_equal(json_integer_value(json_object_get(p, "first")), 4);
    assert_int_equal(json_array_size(json_object_get(p, "events")), 2);
    json_decref(p);
    p = NULL;
    /* after=3 lost nothing */
    assert_int_equal(
        call(f, NULL, "GET", "/v1/events?follow=false&after=3", NULL, &p, NULL),
        200);
    assert_false(json_is_true(json_object_get(p, "reset")));
    json_decref(p);
    /* a stream answer that no server sends is closed and freed (ASan) */
    assert_int_equal(call(f, NULL, "GET", "/v1/events", NULL, NULL, NULL), 200);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* A stream's side of the server, for a stream no server sends. */
typedef struct fake_stream {
    ent_api_stream s; /* first: the stream the handler writes to */
    const ent_http_stream_ops *ops;
    void *data;
    size_t pings;
    bool ended;
} fake_stream;

static int fake_write(ent_api_stream *s, const char *buf, size_t len) {
    fake_stream *fs = (fake_stream *)s;
    if (fs->ended)
        return ENT_ECLOSED;
    if (len >= 6 && memcmp(buf, ": ping", 6) == 0)
        fs->pings++;
    return ENT_OK;
}

static size_t fake_queued(const ent_api_stream *s) {
    (void)s;
    return 0;
}

static void fake_end(ent_api_stream *s) {
    fake_stream *fs = (fake_stream *)s;
    if (fs->ended)
        return;
    fs->ended = true;
    fs->ops->closed(fs->data);
}

/* GET /v1/events on the TCP API with the session cookie (the web page's
 * EventSource): the heartbeat checks the session again, as it does a
 * bearer token, and the stream ends once the session is ended. */
static void session_stream_ends(void **state) {
    fx *f = *state;
    ent_store *s = ent_node_store(f->n);
    char tok[ENT_TOKEN_STRLEN + 1], id[ENT_TOKEN_ID_HEX + 1], text[512];
    ent_http_request req;
    ent_http_response resp = {0};
    /* static: a failed assertion leaves the stream to the teardown */
    static fake_stream fs;
    fs = (fake_stream){{fake_write, fake_queued, fake_end}, NULL, NULL, 0,
                       false};
    assert_int_equal(ent_access_session_create(
                         s, "rep", (uint64_t)time(NULL) * 1000u, tok, id),
                     ENT_OK);
    int n = snprintf(text, sizeof(text),
                     "GET /v1/events HTTP/1.1\r\nHost: x\r\n"
                     "Cookie: ent_session=%s\r\n\r\n",
                     tok);
    assert_int_equal(ent_http_parse((const uint8_t *)text, (size_t)n, &req),
                     ENT_OK);
    req.transport = ENT_HTTP_TCP;
    ent_api_dispatch(f->n, &req, &resp);
    ent_http_request_clear(&req);
    assert_int_equal(resp.status, 200);
    assert_non_null(resp.stream);
    fs.ops = resp.stream;
    fs.data = resp.stream_data;
    resp.stream = NULL; /* the stream is the fake server's now */
    resp.stream_data = NULL;
    ent_http_response_clear(&resp);
    fs.ops->start(fs.data, &fs.s);
    /* the session holds: a ping */
    ent__api_events_beat(fs.data);
    assert_false(fs.ended);
    assert_int_equal(fs.pings, 1);
    /* logged out (the session's row deleted): the stream ends */
    assert_int_equal(ent_access_token_revoke(s, id), ENT_OK);
    ent__api_events_beat(fs.data);
    bool ended = fs.ended;
    fake_end(&fs.s); /* (when it did not: the teardown's loop must end) */
    assert_true(ended);
    assert_int_equal(fs.pings, 1);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_parse),
        cmocka_unit_test_setup_teardown(pages_and_views, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_and_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(session_stream_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
