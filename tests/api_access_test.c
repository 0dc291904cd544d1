/*
 * api_access_test.c - the access guard of the local API (spec/access.md
 * §4), driven through ent_api_dispatch() on a real node (no sockets): the
 * operator without a header, users with bearer tokens; 401 for bad tokens,
 * 403 with the deciding rule and nothing changed, denied fields and
 * objects absent from show, list and log, the user of each op in the log.
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
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/api/api.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define CANARY "CANARY-MEMO-5521"
#define NOW 4000000000000ull /* tokens below never expire before this */

static int rm_entry(const char *p, const struct stat *sb, int t,
                    struct FTW *f) {
    (void)sb;
    (void)t;
    (void)f;
    remove(p);
    return 0;
}

typedef struct fx {
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    char rep[ENT_TOKEN_STRLEN + 1], fin[ENT_TOKEN_STRLEN + 1];
    char rep_ro[ENT_TOKEN_STRLEN + 1], old[ENT_TOKEN_STRLEN + 1];
    char emea[65], apac[65];
} fx;

/* Dispatches METHOD PATH (token NULL: the operator); *out the body. */
static int call(fx *f, const char *token, const char *method, const char *path,
                const char *body, json_t **out) {
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
    if (out != NULL) {
        *out = resp.body;
        resp.body = NULL;
    }
    ent_http_response_clear(&resp);
    return st;
}

static char *dump(const json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(s);
    return s;
}

static void create(fx *f, const char *region, char hex[65]) {
    char body[512];
    json_t *j = NULL;
    snprintf(body, sizeof(body),
             "{\"type\":\"opportunity\",\"set\":{\"name\":\"Deal-%s\","
             "\"region\":\"%s\"},\"private\":{\"deal_size\":\"7777123.45 "
             "EUR\",\"memo\":\"" CANARY "\"}}",
             region, region);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects", body, &j), 201);
    strcpy(hex, json_string_value(json_object_get(j, "id")));
    json_decref(j);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    char org[ENT_ORG_ID_LEN + 1], err[256], id[ENT_TOKEN_ID_HEX + 1];
    uint32_t rid;
    ent_pwhash_cost cost;
    assert_int_equal(ent_crypto_init(), ENT_OK);
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/ent-apiacc-test.XXXXXX");
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
    ent_user_spec fin = {.name = "fin", .role = "finance", .disabled = -1};
    ent_user_spec gone = {.name = "gone", .role = "admin", .disabled = -1};
    assert_int_equal(ent_access_user_add(s, &rep, &cost, 1, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_access_user_add(s, &fin, &cost, 1, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_access_user_add(s, &gone, &cost, 1, err, sizeof(err)),
                     ENT_OK);
    static const char *const rules[] = {
        "allow role=rep read,create,change,comment opportunity where "
        "region=$user.region",
        "deny role=rep read,change opportunity.deal_size",
        "deny role=rep read,change opportunity.memo",
        "allow role=rep * opportunity where creator=$user",
        "allow role=rep log *",
        "allow role=finance read opportunity",
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        assert_int_equal(
            ent_access_policy_add(s, rules[i], &rid, err, sizeof(err)), ENT_OK);
    assert_int_equal(
        ent_access_token_create(s, "rep", ENT_ACT_ALL, 0, 1, f->rep, id),
        ENT_OK);
    assert_int_equal(
        ent_access_token_create(s, "fin", ENT_ACT_ALL, 0, 1, f->fin, id),
        ENT_OK);
    assert_int_equal(
        ent_access_token_create(s, "rep", ENT_ACT_READ, 0, 1, f->rep_ro, id),
        ENT_OK);
    assert_int_equal(
        ent_access_token_create(s, "gone", ENT_ACT_ALL, 0, 1, f->old, id),
        ENT_OK);
    assert_int_equal(ent_access_user_remove(s, "gone"), ENT_OK);
    create(f, "EMEA", f->emea);
    create(f, "APAC", f->apac);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ent_node_free(f->n);
    uv_loop_close(&f->loop);
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void test_authentication(void **state) {
    fx *f = *state;
    json_t *j = NULL;
    char bad[ENT_TOKEN_STRLEN + 1];
    strcpy(bad, f->rep);
    bad[ENT_TOKEN_STRLEN - 1] ^= 1;
    const char *wrong[] = {bad, f->old, "x", ""};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(call(f, wrong[i], "GET", "/v1/objects", NULL, &j),
                         401);
        json_decref(j);
    }
    assert_int_equal(call(f, NULL, "GET", "/v1/access/me", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "operator")));
    json_decref(j);
    assert_int_equal(call(f, f->rep, "GET", "/v1/access/me", NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "user")), "rep");
    json_decref(j);
    /* managing is the operator's (and admins') */
    assert_int_equal(call(f, f->rep, "GET", "/v1/users", NULL, &j), 403);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/users", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
}

/* POST /v1/login tells nothing about which names exist: an unknown user,
 * a wrong password and a disabled user's wrong password get the same
 * bytes; only the right password learns that a user is disabled. */
static void test_login_same_answer(void **state) {
    fx *f = *state;
    char err[256];
    ent_pwhash_cost cost;
    ent_pwhash_cost_min(&cost);
    ent_store *s = ent_node_store(f->n);
    ent_user_spec rep = {
        .name = "rep", .password = "Rep-password-42", .disabled = -1};
    ent_user_spec fin = {
        .name = "fin", .password = "Fin-password-42", .disabled = 1};
    assert_int_equal(ent_access_user_set(s, &rep, &cost, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_access_user_set(s, &fin, &cost, err, sizeof(err)),
                     ENT_OK);
    static const char *const bodies[] = {
        "{\"user\":\"ghost\",\"password\":\"Rep-password-42\"}",
        "{\"user\":\"rep\",\"password\":\"Wrong-password-1\"}",
        "{\"user\":\"fin\",\"password\":\"Wrong-password-1\"}",
        "{\"user\":\"gone\",\"password\":\"Wrong-password-1\"}",
    };
    char *first = NULL;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *j = NULL;
        assert_int_equal(call(f, NULL, "POST", "/v1/login", bodies[i], &j),
                         401);
        char *d = dump(j);
        json_decref(j);
        if (first == NULL)
            first = d;
        else {
            assert_string_equal(d, first);
            free(d);
        }
    }
    assert_string_equal(first,
                        "{\"error\":{\"code\":\"ENT_EAUTH\",\"field\":null,"
                        "\"message\":\"wrong user name or password\"}}");
    free(first);
    json_t *j = NULL;
    assert_int_equal(call(f, NULL, "POST", "/v1/login",
                          "{\"user\":\"fin\",\"password\":\"Fin-password-42\"}",
                          &j),
                     401);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "message")),
                        "the user is disabled");
    json_decref(j);
}

/* A query parameter given twice is 400 naming it, for a user as for the
 * operator, on every route: the guard and the handler never read two
 * different values of it (the guard used to cut the first limit for a
 * user while the handler used the second). */
static void test_repeated_query(void **state) {
    fx *f = *state;
    static const char *const paths[] = {
        "/v1/objects?limit=1&limit=500",
        "/v1/objects?limit=1&type=opportunity&l%69mit=500",
        "/v1/log?since=1&since=2",
        "/v1/status?limit=1&limit=2",
    };
    const char *who[] = {f->rep, NULL};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        for (size_t w = 0; w < 2; w++) {
            json_t *j = NULL;
            assert_int_equal(call(f, who[w], "GET", paths[i], NULL, &j), 400);
            const json_t *e = json_object_get(j, "error");
            assert_string_equal(json_string_value(json_object_get(e, "field")),
                                i == 2 ? "since" : "limit");
            json_decref(j);
        }
}

/* The message of the error answer j, or "". */
static const char *err_msg(const json_t *j) {
    const char *m = json_string_value(
        json_object_get(json_object_get(j, "error"), "message"));
    return m != NULL ? m : "";
}

/* /v1/log, /v1/audit/export, /v1/audit/heads, /v1/invites and /metrics
 * read their query with the shared parser: values percent-decoded, a bad
 * escape the same 400 as on /v1/objects (spec/api.md "Requests"). */
static void test_query_decoded(void **state) {
    fx *f = *state;
    json_t *j = NULL, *k = NULL;
    assert_int_equal(call(f, NULL, "GET", "/v1/log?since=1", NULL, &k), 200);
    assert_int_equal(call(f, NULL, "GET", "/v1/log?since=%31", NULL, &j), 200);
    assert_true(json_array_size(json_object_get(j, "entries")) > 0);
    assert_true(json_equal(json_object_get(j, "entries"),
                           json_object_get(k, "entries")));
    json_decref(j);
    json_decref(k);
    assert_int_equal(call(f, f->rep, "GET", "/v1/log?since=%30", NULL, &j),
                     200);
    json_decref(j);
    char path[160];
    snprintf(path, sizeof(path), "/v1/invites?object=%%61%s",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(call(f, NULL, "GET", path, NULL, &j), 200);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    /* a bad escape: the 400 of /v1/objects, on each route */
    static const char *const bad[] = {
        "/v1/objects?type=%zz",     "/v1/log?since=1%zz",
        "/v1/audit/export?since=%", "/v1/audit/heads?org=%4",
        "/v1/invites?object=%zz",   "/metrics?x=%zz",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(call(f, NULL, "GET", bad[i], NULL, &j), 400);
        assert_non_null(strstr(err_msg(j), "bad percent-encoding"));
        json_decref(j);
    }
}

/* GET /v1/tokens?user=NAME reads NAME percent-decoded, as every other
 * query value is. */
static void test_tokens_user_decoded(void **state) {
    fx *f = *state;
    json_t *j = NULL;
    assert_int_equal(call(f, NULL, "GET", "/v1/tokens?user=r%65p", NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 2); /* rep's two tokens */
    size_t i;
    json_t *t;
    json_array_foreach(j, i, t) assert_string_equal(
        json_string_value(json_object_get(t, "user")), "rep");
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/tokens?user=f%69n", NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    /* a bad name or another parameter is still 400 */
    assert_int_equal(call(f, NULL, "GET", "/v1/tokens?user=R%45P", NULL, &j),
                     400);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/tokens?who=rep", NULL, &j), 400);
    json_decref(j);
}

static void test_show_and_list(void **state) {
    fx *f = *state;
    char path[128];
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s", f->emea);
    /* the operator sees everything */
    assert_int_equal(call(f, NULL, "GET", path, NULL, &j), 200);
    char *s = dump(j);
    assert_non_null(strstr(s, CANARY));
    free(s);
    json_decref(j);
    /* rep: no deal_size, no memo, not even their keys */
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    s = dump(j);
    assert_null(strstr(s, CANARY));
    assert_null(strstr(s, "7777123"));
    assert_null(strstr(s, "deal_size"));
    assert_null(strstr(s, "memo"));
    assert_non_null(strstr(s, "Deal-EMEA"));
    free(s);
    json_decref(j);
    /* finance sees deal_size */
    assert_int_equal(call(f, f->fin, "GET", path, NULL, &j), 200);
    assert_non_null(
        json_object_get(json_object_get(j, "private"), "deal_size"));
    json_decref(j);
    /* the APAC object: 403, default deny, for show and list */
    snprintf(path, sizeof(path), "/v1/objects/%s", f->apac);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 403);
    const json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "ENT_EDENIED");
    assert_string_equal(json_string_value(json_object_get(e, "reason")),
                        "default");
    assert_true(json_is_null(json_object_get(e, "rule")));
    json_decref(j);
    assert_int_equal(call(f, f->rep, "GET", "/v1/objects", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, 0), "id")),
        f->emea);
    json_decref(j);
    /* a prefix lookup of the APAC id finds nothing */
    snprintf(path, sizeof(path), "/v1/objects?prefix=%.8s&limit=6", f->apac);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/objects", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
}

static void test_denied_writes_change_nothing(void **state) {
    fx *f = *state;
    char path[128];
    json_t *j = NULL, *before = NULL, *after = NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s", f->emea);
    assert_int_equal(call(f, NULL, "GET", path, NULL, &before), 200);
    /* a denied field: 403 naming rule 2 and the field */
    assert_int_equal(call(f, f->rep, "POST", path,
                          "{\"set\":{\"name\":\"x\"},\"private\":{"
                          "\"deal_size\":\"1 EUR\"}}",
                          &j),
                     403);
    const json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "rule")), 2);
    assert_string_equal(json_string_value(json_object_get(e, "field")),
                        "deal_size");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")),
                           "denied by rule 2"));
    json_decref(j);
    /* out of the region: refused as it would be */
    assert_int_equal(
        call(f, f->rep, "POST", path, "{\"set\":{\"region\":\"APAC\"}}", &j),
        403);
    json_decref(j);
    /* memo is a custom field (opportunity does not list it): writing it
     * as "custom" or taking it away with "remove" is a change of the
     * field, denied by rule 3 as "private" is */
    static const char *const custom[] = {
        "{\"custom\":{\"memo\":\"x\"}}",
        "{\"remove\":[\"memo\"]}",
        "{\"set\":{\"name\":\"x\"},\"remove\":[\"memo\"]}"};
    for (size_t i = 0; i < sizeof(custom) / sizeof(custom[0]); i++) {
        assert_int_equal(call(f, f->rep, "POST", path, custom[i], &j), 403);
        e = json_object_get(j, "error");
        assert_int_equal(json_integer_value(json_object_get(e, "rule")), 3);
        assert_string_equal(json_string_value(json_object_get(e, "field")),
                            "memo");
        json_decref(j);
    }
    /* the read-only token */
    assert_int_equal(
        call(f, f->rep_ro, "POST", path, "{\"set\":{\"name\":\"y\"}}", &j),
        403);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "reason")),
                        "scope");
    json_decref(j);
    /* a comment on the APAC object */
    snprintf(path, sizeof(path), "/v1/objects/%s/comments", f->apac);
    assert_int_equal(call(f, f->rep, "POST", path, "{\"text\":\"hi\"}", &j),
                     403);
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", f->emea);
    assert_int_equal(call(f, NULL, "GET", path, NULL, &after), 200);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    /* a read-only token creates nothing */
    assert_int_equal(call(f, f->rep_ro, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"region\":"
                          "\"EMEA\"}}",
                          &j),
                     403);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/objects", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
}

/* The approve action (spec/workflows.md §5): default deny but for admins;
 * a policy lets the finance role approve; the rules view is a read. */
static void test_approve_action(void **state) {
    fx *f = *state;
    char path[160], err[256];
    uint32_t rid;
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s/approve", f->emea);
    assert_int_equal(call(f, f->rep, "POST", path, "{}", &j), 403);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "reason")),
                        "default");
    json_decref(j);
    assert_int_equal(call(f, f->fin, "POST", path, "{}", &j), 403);
    json_decref(j);
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "allow role=finance approve "
                                           "opportunity",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    /* past the guard, the engine answers: this object has no rules */
    assert_int_equal(call(f, f->fin, "POST", path, "{\"step\":\"finance\"}",
                          &j),
                     403);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(j, "error"), "message")),
                           "no workflow rules"));
    json_decref(j);
    /* a bad body is refused before the engine */
    assert_int_equal(call(f, f->fin, "POST", path, "{\"step\":7}", &j), 400);
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s/reject", f->emea);
    assert_int_equal(call(f, NULL, "POST", path, "{\"step\":\"x\"}", &j),
                     400); /* a rejection needs a reason */
    json_decref(j);
    /* the rules view is a read of the object */
    snprintf(path, sizeof(path), "/v1/objects/%s/rules", f->emea);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    assert_true(json_is_null(json_object_get(j, "rules")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s/rules", f->apac);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 403);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/inbox", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "approvals")), 0);
    json_decref(j);
    assert_int_equal(call(f, f->rep, "GET", "/v1/inbox", NULL, &j), 403);
    json_decref(j);
}

static void test_who_did_what(void **state) {
    fx *f = *state;
    char path[128], mine[65];
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s", f->emea);
    assert_int_equal(
        call(f, f->rep, "POST", path, "{\"set\":{\"next_step\":\"Call\"}}", &j),
        200);
    json_decref(j);
    /* rep creates an APAC object: allowed as its creator, then readable */
    assert_int_equal(call(f, f->rep, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"region\":"
                          "\"APAC\",\"name\":\"Own\"}}",
                          &j),
                     201);
    strcpy(mine, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", mine);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    json_decref(j);
    /* the log: the operator sees every entry with its user */
    assert_int_equal(call(f, NULL, "GET", "/v1/log", NULL, &j), 200);
    json_t *en = json_object_get(j, "entries");
    assert_int_equal(json_array_size(en), 4);
    assert_true(json_is_null(json_object_get(json_array_get(en, 0), "user")));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(en, 2), "user")),
        "rep");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(en, 3), "user")),
        "rep");
    json_decref(j);
    /* rep does not see the entries of the operator's APAC object */
    assert_int_equal(call(f, f->rep, "GET", "/v1/log", NULL, &j), 200);
    char *s = dump(j);
    assert_null(strstr(s, f->apac));
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 3);
    free(s);
    json_decref(j);
    /* finance may not read the log at all */
    assert_int_equal(call(f, f->fin, "GET", "/v1/log", NULL, &j), 403);
    json_decref(j);
}

/* The log entry of the op that made object hex (the operator's view). */
static json_t *log_entry_of(fx *f, const char *hex) {
    json_t *j = NULL, *e, *found = NULL;
    size_t i;
    assert_int_equal(call(f, NULL, "GET", "/v1/log", NULL, &j), 200);
    json_array_foreach(json_object_get(j, "entries"), i, e) {
        const char *o = json_string_value(json_object_get(e, "object"));
        if (found == NULL && o != NULL && strcmp(o, hex) == 0)
            found = json_incref(e);
    }
    json_decref(j);
    assert_non_null(found);
    return found;
}

/* Removes user name and adds a new user of that name (role rep, region
 * EMEA) through the API; tok gets a token of the new user. */
static void readd(fx *f, const char *name, char tok[ENT_TOKEN_STRLEN + 1]) {
    char path[96], body[160], id[ENT_TOKEN_ID_HEX + 1];
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/users/%s", name);
    assert_int_equal(call(f, NULL, "DELETE", path, NULL, &j), 200);
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"role\":\"rep\",\"attrs\":{\"region\":"
             "\"EMEA\"}}",
             name);
    assert_int_equal(call(f, NULL, "POST", "/v1/users", body, &j), 201);
    json_decref(j);
    assert_int_equal(ent_access_token_create(ent_node_store(f->n), name,
                                             ENT_ACT_ALL, 0, NOW, tok, id),
                     ENT_OK);
}

/* A user added with the name of a removed user gets none of its creator
 * rights and is not shown as the author of its ops (spec/access.md §5). */
static void test_name_reused(void **state) {
    fx *f = *state;
    char path[160], mine[65], again[65], tok[ENT_TOKEN_STRLEN + 1];
    const char *apac = "{\"type\":\"opportunity\",\"set\":{\"region\":"
                       "\"APAC\",\"name\":\"Own\"}}";
    json_t *j = NULL, *e;
    /* rep creates an APAC object: readable as its creator */
    assert_int_equal(call(f, f->rep, "POST", "/v1/objects", apac, &j), 201);
    strcpy(mine, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", mine);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    json_decref(j);
    /* rep is removed and a new rep added: not the creator of that object */
    readd(f, "rep", tok);
    assert_int_equal(call(f, tok, "GET", path, NULL, &j), 403);
    json_decref(j);
    assert_int_equal(
        call(f, tok, "POST", path, "{\"set\":{\"name\":\"x\"}}", &j), 403);
    json_decref(j);
    assert_int_equal(call(f, tok, "GET", "/v1/objects", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1); /* the EMEA one, by region */
    json_decref(j);
    /* the log names the removed rep, marked removed */
    e = log_entry_of(f, mine);
    assert_string_equal(json_string_value(json_object_get(e, "user")), "rep");
    assert_true(json_is_true(json_object_get(e, "user_removed")));
    json_decref(e);
    /* what the new rep creates is its own */
    assert_int_equal(call(f, tok, "POST", "/v1/objects", apac, &j), 201);
    strcpy(again, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", again);
    assert_int_equal(call(f, tok, "GET", path, NULL, &j), 200);
    json_decref(j);
    e = log_entry_of(f, again);
    assert_string_equal(json_string_value(json_object_get(e, "user")), "rep");
    assert_true(json_is_false(json_object_get(e, "user_removed")));
    json_decref(e);
}

/* Rows written before users had ids hold the name alone: they stay the
 * rows of the user of that name while it is one added before ids (no "id"
 * in its record), and are nobody's once a new user takes the name. */
struct legacy_ctx {
    uint8_t obj[32];
};

static int legacy_fn(ent_txn *txn, void *data) {
    struct legacy_ctx *c = data;
    static const char rec[] =
        "{\"attrs\":{\"region\":\"EMEA\"},\"created\":1,\"disabled\":false,"
        "\"failures\":0,\"locked_until\":0,\"name\":\"old\",\"password\":"
        "null,\"role\":\"rep\"}";
    uint8_t key[34] = {'c', '/'};
    memcpy(key + 2, c->obj, 32);
    int rc = ent_txn_put(txn, ENT_TBL_ACCESS, "u/old", 5, rec, strlen(rec), 0);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_ACCESS, key, sizeof(key), "old", 3, 0);
    return rc;
}

static void test_creator_before_ids(void **state) {
    fx *f = *state;
    char path[160], tok[ENT_TOKEN_STRLEN + 1], id[ENT_TOKEN_ID_HEX + 1];
    struct legacy_ctx c;
    json_t *j = NULL, *e;
    ent_store *s = ent_node_store(f->n);
    /* "old", added before ids, created the operator's APAC object */
    assert_int_equal(ent_hex_decode(c.obj, sizeof(c.obj), f->apac), ENT_OK);
    assert_int_equal(ent_store_write(s, legacy_fn, &c), ENT_OK);
    assert_int_equal(
        ent_access_token_create(s, "old", ENT_ACT_ALL, 0, NOW, tok, id),
        ENT_OK);
    assert_int_equal(call(f, NULL, "GET", "/v1/users/old", NULL, &j), 200);
    assert_true(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    /* it keeps its creator rights, and its new ops are its own */
    snprintf(path, sizeof(path), "/v1/objects/%s", f->apac);
    assert_int_equal(call(f, tok, "GET", path, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 403);
    json_decref(j);
    assert_int_equal(
        call(f, tok, "POST", path, "{\"set\":{\"next_step\":\"Call\"}}", &j),
        200);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/log", NULL, &j), 200);
    e = json_array_get(json_object_get(j, "entries"),
                       json_array_size(json_object_get(j, "entries")) - 1);
    assert_string_equal(json_string_value(json_object_get(e, "user")), "old");
    assert_true(json_is_false(json_object_get(e, "user_removed")));
    json_decref(j);
    /* a new "old" (with an id) inherits neither */
    readd(f, "old", tok);
    assert_int_equal(call(f, NULL, "GET", "/v1/users/old", NULL, &j), 200);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "id"))), 16);
    json_decref(j);
    assert_int_equal(call(f, tok, "GET", path, NULL, &j), 403);
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/log", NULL, &j), 200);
    e = json_array_get(json_object_get(j, "entries"),
                       json_array_size(json_object_get(j, "entries")) - 1);
    assert_string_equal(json_string_value(json_object_get(e, "user")), "old");
    assert_true(json_is_true(json_object_get(e, "user_removed")));
    json_decref(j);
}

/* A stage the user may not read is not told by a stage filter of the
 * list nor by the rules view. */
static void test_stage_hidden(void **state) {
    fx *f = *state;
    char path[160], err[256];
    uint32_t rid;
    json_t *j = NULL;
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "deny role=rep read "
                                           "opportunity.stage",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    /* the row is there, its stage null */
    assert_int_equal(call(f, f->rep, "GET", "/v1/objects", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    assert_true(json_is_null(json_object_get(json_array_get(j, 0), "stage")));
    json_decref(j);
    /* the operator: both objects are at Prospecting */
    assert_int_equal(
        call(f, NULL, "GET", "/v1/objects?stage=Prospecting", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    /* rep: a filter on the stage finds nothing, whatever the stage */
    const char *q[] = {"/v1/objects?stage=Prospecting",
                       "/v1/objects?stage=Negotiation",
                       "/v1/objects?limit=5&stage=prospecting"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(call(f, f->rep, "GET", q[i], NULL, &j), 200);
        assert_int_equal(json_array_size(j), 0);
        json_decref(j);
    }
    /* the rules view: the stage null for rep, shown to the operator */
    snprintf(path, sizeof(path), "/v1/objects/%s/rules", f->emea);
    assert_int_equal(call(f, NULL, "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "stage")),
                        "Prospecting");
    json_decref(j);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    assert_true(json_is_null(json_object_get(j, "stage")));
    assert_int_equal(json_array_size(json_object_get(j, "waiting")), 0);
    json_decref(j);
}

/* A link (spec/objects.md "Links") tells the linked object's name and
 * type only to a user who may read that object, and nothing when the
 * link's field is one the user may not read. */
static void test_links(void **state) {
    fx *f = *state;
    char path[160], body[256], err[256], plan[65];
    uint32_t rid;
    json_t *j = NULL;
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"sales_plan\",\"set\":{\"name\":"
                          "\"SECRET-PLAN\"}}",
                          &j),
                     201);
    strcpy(plan, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", f->emea);
    snprintf(body, sizeof(body), "{\"set\":{\"plan\":\"%s\"}}", plan);
    assert_int_equal(call(f, NULL, "POST", path, body, NULL), 200);
    /* the operator: the plan's name */
    assert_int_equal(call(f, NULL, "GET", path, NULL, &j), 200);
    char *s = dump(j);
    assert_non_null(strstr(s, "SECRET-PLAN"));
    free(s);
    json_decref(j);
    /* rep may read the opportunity, not the plan: the id alone */
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    const json_t *l = json_object_get(json_object_get(j, "links"), "plan");
    assert_string_equal(json_string_value(json_object_get(l, "id")), plan);
    assert_null(json_object_get(l, "name"));
    assert_null(json_object_get(l, "type"));
    s = dump(j);
    assert_null(strstr(s, "SECRET-PLAN"));
    free(s);
    json_decref(j);
    /* the field plan denied: no link either */
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "deny role=rep read "
                                           "opportunity.plan",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    s = dump(j);
    assert_null(strstr(s, plan));
    free(s);
    json_decref(j);
}

/* An MDF budget's use (spec/workflows.md §8) adds up its requests: a
 * user sees it only when it may read each of them. */
static void test_budget_use(void **state) {
    fx *f = *state;
    char path[160], body[256], err[256], bud[65];
    uint32_t rid;
    json_t *j = NULL;
    ent_store *s = ent_node_store(f->n);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"mdf_budget\",\"set\":{\"name\":"
                          "\"B\",\"amount\":\"1000 EUR\"}}",
                          &j),
                     201);
    strcpy(bud, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"type\":\"mdf_request\",\"set\":{\"name\":\"R\","
             "\"budget\":\"%s\",\"amount_requested\":\"600 EUR\"}}",
             bud);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects", body, NULL), 201);
    assert_int_equal(ent_access_policy_add(s, "allow role=finance read "
                                              "mdf_budget",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    snprintf(path, sizeof(path), "/v1/objects/%s", bud);
    assert_int_equal(call(f, NULL, "GET", path, NULL, &j), 200);
    assert_non_null(json_object_get(j, "budget_use"));
    json_decref(j);
    /* finance may not read the request: no budget use */
    assert_int_equal(call(f, f->fin, "GET", path, NULL, &j), 200);
    assert_non_null(json_object_get(j, "shared"));
    assert_null(json_object_get(j, "budget_use"));
    json_decref(j);
    /* it may: the budget use */
    assert_int_equal(ent_access_policy_add(s, "allow role=finance read "
                                              "mdf_request",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(call(f, f->fin, "GET", path, NULL, &j), 200);
    assert_non_null(json_object_get(j, "budget_use"));
    json_decref(j);
}

/* A deal registration's conflicts (spec/workflows.md §9.3) name other
 * objects: a user sees them only when it may read each. */
static void test_registration_conflicts(void **state) {
    fx *f = *state;
    char path[160], body[512], err[256], prog[65], reg[65], opp[65];
    uint32_t rid;
    json_t *j = NULL;
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"program\",\"set\":{\"name\":"
                          "\"Co-sell\"}}",
                          &j),
                     201);
    strcpy(prog, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"name\":"
                          "\"Hidden\",\"region\":\"APAC\","
                          "\"customer_account\":\"ACME Inc.\"}}",
                          &j),
                     201);
    strcpy(opp, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"type\":\"deal_registration\",\"set\":{\"program\":"
             "\"%s\",\"customer_account\":\"Acme Inc\",\"solution\":"
             "\"Cloud Backup\"}}",
             prog);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects", body, &j), 201);
    strcpy(reg, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", reg);
    assert_int_equal(call(f, NULL, "GET", path, NULL, &j), 200);
    char *s = dump(j);
    if (strstr(s, opp) == NULL)
        fail_msg("no conflict with the opportunity: %s", s);
    free(s);
    json_decref(j);
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "allow role=rep read "
                                           "deal_registration",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    /* rep may read the registration, not the APAC opportunity */
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    assert_non_null(json_object_get(j, "shared"));
    s = dump(j);
    assert_null(strstr(s, opp));
    free(s);
    json_decref(j);
    /* the inbox: the registration waits with its conflicts; an approver
     * who may not read the opportunity does not get the row */
    assert_int_equal(call(f, NULL, "GET", "/v1/inbox", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "registrations")), 1);
    s = dump(j);
    assert_non_null(strstr(s, opp));
    free(s);
    json_decref(j);
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "allow role=rep approve *", &rid,
                                           err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(call(f, f->rep, "GET", "/v1/inbox", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "registrations")), 0);
    s = dump(j);
    assert_null(strstr(s, opp));
    free(s);
    json_decref(j);
    /* allowed to read every opportunity: the row and the block */
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "allow role=rep read opportunity",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(call(f, f->rep, "GET", "/v1/inbox", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "registrations")), 1);
    json_decref(j);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    assert_non_null(json_object_get(j, "registration"));
    json_decref(j);
}

/* Converting a lead (spec/objects.md) changes the lead and creates an
 * opportunity: the create needs the create right, and the user who
 * converts is the new object's creator. */
static void test_convert(void **state) {
    fx *f = *state;
    char path[160], err[256], lead[65], made[65];
    uint32_t rid;
    json_t *j = NULL;
    ent_store *s = ent_node_store(f->n);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"lead\",\"set\":{\"company\":"
                          "\"Acme\",\"region\":\"APAC\"}}",
                          &j),
                     201);
    strcpy(lead, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    assert_int_equal(ent_access_policy_add(s, "allow role=finance,user=fin "
                                              "change lead",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_access_policy_add(s, "allow role=rep change lead",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    snprintf(path, sizeof(path), "/v1/objects/%s/convert", lead);
    /* finance may change leads, not create opportunities: nothing made */
    assert_int_equal(
        call(f, f->fin, "POST", path, "{\"to\":\"opportunity\"}", &j), 403);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "reason")),
                        "default");
    json_decref(j);
    assert_int_equal(call(f, NULL, "GET", "/v1/objects?type=opportunity",
                          NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    /* rep may create what it creates: the APAC opportunity is its own */
    assert_int_equal(
        call(f, f->rep, "POST", path, "{\"to\":\"opportunity\"}", &j), 201);
    strcpy(made, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/objects/%s", made);
    assert_int_equal(call(f, f->rep, "GET", path, NULL, &j), 200);
    json_decref(j);
}

/* Sorted by a field: a row whose key the user may not read sorts as one
 * without the key, so that its place does not tell the hidden value. */
static void test_sort_hidden(void **state) {
    fx *f = *state;
    char err[256], hidden[65];
    uint32_t rid;
    json_t *j = NULL;
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"name\":"
                          "\"Ccc-secret\",\"region\":\"EMEA\","
                          "\"next_step\":\"hide\"}}",
                          &j),
                     201);
    strcpy(hidden, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    const char *names[] = {"Bbb", "Ddd"};
    for (size_t i = 0; i < 2; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"type\":\"opportunity\",\"set\":{\"name\":\"%s\","
                 "\"region\":\"EMEA\"}}",
                 names[i]);
        assert_int_equal(call(f, f->rep, "POST", "/v1/objects", body, NULL),
                         201);
    }
    assert_int_equal(ent_access_policy_add(ent_node_store(f->n),
                                           "deny role=rep read opportunity.name "
                                           "where next_step=hide",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    /* Bbb, Ddd, Deal-EMEA, then the hidden one; either direction */
    const char *q[] = {"/v1/objects?sort=title", "/v1/objects?sort=-title",
                       "/v1/objects?sort=%74itle&limit=4"};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(call(f, f->rep, "GET", q[k], NULL, &j), 200);
        assert_int_equal(json_array_size(j), 4);
        const json_t *last = json_array_get(j, 3);
        assert_string_equal(json_string_value(json_object_get(last, "id")),
                            hidden);
        assert_true(json_is_null(json_object_get(last, "title")));
        json_decref(j);
    }
    /* limit 2 cuts after the move: the hidden row is not among them */
    assert_int_equal(
        call(f, f->rep, "GET", "/v1/objects?sort=title&limit=2", NULL, &j),
        200);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(j, 1), "title")),
                        "Ddd");
    json_decref(j);
}

/* The plan report (spec/reports.md "MDF and plans", "Access") for a user:
 * an opportunity the user may not read is not counted; one whose amount
 * it may not read refuses the report (the sum would give it away). */
static void test_plan_report(void **state) {
    fx *f = *state;
    char path[160], body[256], err[256], plan[65];
    uint32_t hide, rid;
    json_t *j = NULL;
    ent_store *s = ent_node_store(f->n);
    assert_int_equal(call(f, NULL, "POST", "/v1/objects",
                          "{\"type\":\"sales_plan\",\"set\":{\"name\":"
                          "\"P1\",\"joint_target\":\"1000 EUR\"}}",
                          &j),
                     201);
    strcpy(plan, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    const char *opps[] = {f->emea, f->apac};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/v1/objects/%s", opps[i]);
        snprintf(body, sizeof(body), "{\"set\":{\"plan\":\"%s\"}}", plan);
        assert_int_equal(call(f, NULL, "POST", path, body, NULL), 200);
    }
    assert_int_equal(ent_access_policy_add(s, "allow role=finance read "
                                              "sales_plan",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    /* the APAC opportunity hidden from finance: counted for the operator
     * only */
    assert_int_equal(ent_access_policy_add(s, "deny role=finance read "
                                              "opportunity where region=APAC",
                                           &hide, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(call(f, NULL, "GET", "/v1/reports/plan", NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "total"), "opportunities")),
                     2);
    json_decref(j);
    assert_int_equal(call(f, f->fin, "GET", "/v1/reports/plan", NULL, &j),
                     200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "total"), "opportunities")),
                     1);
    json_decref(j);
    /* its deal size hidden instead: the report is refused, not summed */
    assert_int_equal(ent_access_policy_remove(s, hide), ENT_OK);
    assert_int_equal(ent_access_policy_add(s, "deny role=finance read "
                                              "opportunity.deal_size where "
                                              "region=APAC",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(call(f, f->fin, "GET", "/v1/reports/plan", NULL, &j),
                     403);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(j, "error"), "message")),
                           "opportunity.deal_size"));
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_authentication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_denied_writes_change_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_who_did_what, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creator_before_ids, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_approve_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_hidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_hidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_same_answer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_repeated_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_user_decoded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_query_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_conflicts, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
