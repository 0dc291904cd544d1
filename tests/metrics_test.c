/*
 * metrics_test.c - GET /metrics (spec/api.md "Metrics"), driven through
 * ent_api_dispatch() on a real node: the text parses under a strict reader
 * of the Prometheus exposition format 0.0.4 written here; the counters
 * move with ops and API requests, the route label is the template and
 * never a path with an id; no object id, org id or name, field value or
 * private value reaches the text (canaries); who may read it; the
 * registry takes collectors of other parts, escapes their label values and
 * drops what would break the format; two nodes show their ops and
 * sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "nodes_fixture.h"
typedef struct world {
    NODES_WORLD_FIELDS;
} world;
#define NODES_WORLD
#include "nodes_fixture.h"

#include "node/api/api.h"
#include "node/metrics.h"

#define ORG_CANARY "CanaryOrg-7731"
#define SHARED_CANARY "CANARY-SHARED-5190"
#define PRIV_CANARY "CANARY-PRIV-2264"

typedef struct fx {
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    char obj[65];
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    nodes_tmpdir(f->tmp, "/tmp", "metrics-test");
    node_home(f->home, f->tmp, "home", ORG_CANARY, NULL);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    node_open(&f->n, &f->loop, f->home, NULL);
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

/* Dispatches; returns the status; *json the JSON body, *text a copy of a
 * text body (either may be NULL). */
static int call_node(ent_node *nd, const char *token, const char *method,
                     const char *path, const char *body, json_t **json,
                     char **text) {
    char req_text[4096], auth[256] = "";
    ent_http_request req;
    ent_http_response resp = {0};
    size_t bl = body ? strlen(body) : 0;
    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    int n = snprintf(req_text, sizeof(req_text),
                     "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n"
                     "\r\n%s",
                     method, path, auth, bl, body ? body : "");
    assert_int_equal(ent_http_parse((const uint8_t *)req_text, (size_t)n, &req),
                     ENT_OK);
    ent_api_dispatch(nd, &req, &resp);
    ent_http_request_clear(&req);
    int st = resp.status;
    if (json != NULL) {
        *json = resp.body;
        resp.body = NULL;
    }
    if (text != NULL) {
        *text = resp.text != NULL ? strdup(resp.text) : NULL;
        if (resp.text != NULL)
            assert_string_equal(resp.content_type,
                                "text/plain; version=0.0.4; charset=utf-8");
    }
    ent_http_response_clear(&resp);
    return st;
}

static int call(fx *f, const char *token, const char *method, const char *path,
                const char *body, json_t **json, char **text) {
    return call_node(f->n, token, method, path, body, json, text);
}

/* ---- a strict reader of the text format 0.0.4 -----------------------------
 */

typedef struct sample {
    char name[128];
    char labels[512]; /* as written, between the braces */
    double value;
} sample;

typedef struct expo {
    sample s[1024];
    size_t n;
    char families[256][128];
    char types[256][32];
    size_t nfam;
} expo;

static bool metric_name(const char *s, size_t l) {
    if (l == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < l; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != ':')
            return false;
    return true;
}

static bool label_name(const char *s, size_t l) {
    if (l == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < l; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* Parses text into e, failing the test at the first violation: every line
 * is a "# HELP", a "# TYPE" or a sample; a family is HELP then TYPE then
 * its samples, once; a counter is named *_total; label names are valid,
 * values quoted with only \\, \" and \n escaped, no label twice; no two
 * samples with the same labels; values are numbers; the text ends in a
 * newline. */
static void parse_expo(const char *text, expo *e) {
    const char *p = text;
    const char *fam = NULL, *type = NULL;
    bool have_help = false;
    memset(e, 0, sizeof(*e));
    assert_true(text[0] != '\0');
    assert_int_equal(text[strlen(text) - 1], '\n');
    while (*p) {
        const char *eol = strchr(p, '\n');
        assert_non_null(eol);
        size_t l = (size_t)(eol - p);
        char line[2048];
        assert_true(l < sizeof(line));
        memcpy(line, p, l);
        line[l] = '\0';
        p = eol + 1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *nm = line + 7;
            size_t nl = strcspn(nm, " ");
            if (!metric_name(nm, nl) || nm[nl] != ' ')
                fail_msg("bad HELP line: %s", line);
            for (const char *h = nm + nl + 1; *h; h++)
                if (*h == '\\' && h[1] != '\\' && h[1] != 'n')
                    fail_msg("bad escape in HELP: %s", line);
                else if (*h == '\\')
                    h++;
            for (size_t i = 0; i < e->nfam; i++)
                if (strlen(e->families[i]) == nl &&
                    strncmp(e->families[i], nm, nl) == 0)
                    fail_msg("family %.*s twice", (int)nl, nm);
            assert_true(e->nfam < 256);
            snprintf(e->families[e->nfam], 128, "%.*s", (int)nl, nm);
            fam = e->families[e->nfam++];
            type = NULL;
            have_help = true;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char nm[128], t[32];
            if (!have_help || sscanf(line + 7, "%127s %31s", nm, t) != 2 ||
                strcmp(nm, fam) != 0)
                fail_msg("TYPE without its HELP: %s", line);
            if (strcmp(t, "counter") != 0 && strcmp(t, "gauge") != 0)
                fail_msg("type %s", t);
            size_t nl = strlen(nm);
            if (strcmp(t, "counter") == 0 &&
                (nl < 6 || strcmp(nm + nl - 6, "_total") != 0))
                fail_msg("counter %s does not end in _total", nm);
            snprintf(e->types[e->nfam - 1], 32, "%s", t);
            type = e->types[e->nfam - 1];
            have_help = false;
            continue;
        }
        if (line[0] == '#')
            fail_msg("comment line: %s", line);
        if (type == NULL)
            fail_msg("sample outside a family: %s", line);
        /* name{labels} value */
        sample *s = &e->s[e->n];
        assert_true(e->n < 1024);
        size_t nl = strcspn(line, "{ ");
        if (!metric_name(line, nl) || strncmp(line, fam, nl) != 0 ||
            fam[nl] != '\0')
            fail_msg("sample %s not of family %s", line, fam);
        snprintf(s->name, sizeof(s->name), "%.*s", (int)nl, line);
        const char *q = line + nl;
        char keys[16][64];
        size_t nkeys = 0;
        if (*q == '{') {
            const char *start = ++q;
            while (*q != '}') {
                size_t kl = strcspn(q, "=");
                if (!label_name(q, kl) || q[kl] != '=' || q[kl + 1] != '"')
                    fail_msg("bad label in %s", line);
                for (size_t k = 0; k < nkeys; k++)
                    if (strlen(keys[k]) == kl && strncmp(keys[k], q, kl) == 0)
                        fail_msg("label twice in %s", line);
                assert_true(nkeys < 16 && kl < 64);
                snprintf(keys[nkeys++], 64, "%.*s", (int)kl, q);
                q += kl + 2;
                while (*q != '"') {
                    if (*q == '\0')
                        fail_msg("unterminated label value in %s", line);
                    if (*q == '\\') {
                        if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                            fail_msg("bad escape in %s", line);
                        q++;
                    }
                    q++;
                }
                q++;
                if (*q == ',')
                    q++;
                else if (*q != '}')
                    fail_msg("bad label list in %s", line);
            }
            snprintf(s->labels, sizeof(s->labels), "%.*s", (int)(q - start),
                     start);
            q++;
        }
        if (*q != ' ')
            fail_msg("no value in %s", line);
        char *end = NULL;
        q++;
        if (strcmp(q, "NaN") == 0 || strcmp(q, "+Inf") == 0 ||
            strcmp(q, "-Inf") == 0) {
            s->value = NAN;
        } else {
            s->value = strtod(q, &end);
            if (end == q || *end != '\0')
                fail_msg("bad value in %s", line);
        }
        for (size_t k = 0; k < e->n; k++)
            if (strcmp(e->s[k].name, s->name) == 0 &&
                strcmp(e->s[k].labels, s->labels) == 0)
                fail_msg("sample twice: %s", line);
        e->n++;
    }
}

/* The value of the sample name{labels} (labels as written), or -1. */
static double value(const expo *e, const char *name, const char *labels) {
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->s[i].name, name) == 0 &&
            strcmp(e->s[i].labels, labels) == 0)
            return e->s[i].value;
    return -1;
}

static char *scrape_node(ent_node *nd, expo *e) {
    char *text = NULL;
    assert_int_equal(call_node(nd, NULL, "GET", "/metrics", NULL, NULL, &text),
                     200);
    assert_non_null(text);
    parse_expo(text, e);
    return text;
}

static char *scrape(fx *f, const char *token, expo *e) {
    char *text = NULL;
    assert_int_equal(call(f, token, "GET", "/metrics", NULL, NULL, &text), 200);
    assert_non_null(text);
    parse_expo(text, e);
    return text;
}

/* ---- tests --------------------------------------------------------------- */

static void test_format_and_counters(void **state) {
    fx *f = *state;
    static expo e0, e1;
    json_t *j = NULL;
    char *t0 = scrape(f, NULL, &e0);
    assert_true(value(&e0, "entente_objects", "") == 0);
    assert_true(value(&e0, "entente_lmdb_map_size_bytes", "") > 0);
    assert_true(value(&e0, "entente_lmdb_used_bytes", "") > 0);
    assert_true(value(&e0, "entente_lmdb_used_bytes", "") <=
                value(&e0, "entente_lmdb_map_size_bytes", ""));
    assert_true(value(&e0, "entente_ops_created_total", "") == 0);
    assert_true(value(&e0, "entente_peers_connected", "") == 0);
    assert_true(value(&e0, "entente_ops_rejected_total",
                      "reason=\"bad_signature\"") == 0);
    assert_true(value(&e0, "entente_syncs", "state=\"receiving\"") == 0);
    free(t0);

    assert_int_equal(
        call(f, NULL, "POST", "/v1/objects",
             "{\"type\":\"opportunity\",\"set\":{\"name\":\"" SHARED_CANARY
             "\"},\"private\":{\"deal_size\":\"4242 EUR\","
             "\"internal_notes\":\"" PRIV_CANARY "\"}}",
             &j, NULL),
        201);
    strcpy(f->obj, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    char path[128];
    snprintf(path, sizeof(path), "/v1/objects/%s", f->obj);
    for (int i = 0; i < 3; i++)
        assert_int_equal(call(f, NULL, "GET", path, NULL, NULL, NULL), 200);
    snprintf(path, sizeof(path), "/v1/objects/%s/comments", f->obj);
    assert_int_equal(call(f, NULL, "POST", path,
                          "{\"text\":\"" SHARED_CANARY "\"}", NULL, NULL),
                     200);
    assert_int_equal(call(f, NULL, "GET", "/v1/nothing/here", NULL, NULL, NULL),
                     404);
    assert_int_equal(call(f, NULL, "DELETE", "/v1/status", NULL, NULL, NULL),
                     405);
    assert_int_equal(call(f, NULL, "GET", "/v1/objects/ABC", NULL, NULL, NULL),
                     400);

    char *t1 = scrape(f, NULL, &e1);
    assert_true(value(&e1, "entente_objects", "") == 1);
    assert_true(value(&e1, "entente_ops_created_total", "") == 2);
    assert_true(value(&e1, "entente_log_entries", "") >= 2);
    assert_true(
        value(&e1, "entente_api_requests_total",
              "method=\"GET\",route=\"/v1/objects/{id}\",status=\"200\"") == 3);
    assert_true(
        value(&e1, "entente_api_requests_total",
              "method=\"GET\",route=\"/v1/objects/{id}\",status=\"400\"") == 1);
    assert_true(value(&e1, "entente_api_requests_total",
                      "method=\"POST\",route=\"/v1/objects\",status=\"201\"") ==
                1);
    assert_true(value(&e1, "entente_api_requests_total",
                      "method=\"\",route=\"(unmatched)\",status=\"404\"") == 1);
    assert_true(value(&e1, "entente_api_requests_total",
                      "method=\"\",route=\"(unmatched)\",status=\"405\"") == 1);
    /* the first scrape itself is counted */
    assert_true(value(&e1, "entente_api_requests_total",
                      "method=\"GET\",route=\"/metrics\",status=\"200\"") == 1);

    /* canaries: nothing of the object, the org or the values */
    const char *never[] = {ORG_CANARY,  SHARED_CANARY,   PRIV_CANARY,
                           "4242",      f->obj,          ent_node_org_id(f->n),
                           "deal_size", "internal_notes"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (strstr(t1, never[i]) != NULL)
            fail_msg("/metrics carries %s", never[i]);
    char prefix[17];
    snprintf(prefix, sizeof(prefix), "%.16s", f->obj);
    assert_null(strstr(t1, prefix));
    free(t1);
}

/* Admins, users a rule allows and tokens made for metrics alone; not
 * other users, not tokens without the scope; a deny rule denies. */
static void test_access(void **state) {
    fx *f = *state;
    json_t *j = NULL;
    char mon[128], rep[128], adm[128];
    struct {
        const char *user, *role, *scopes;
        char *tok;
    } u[] = {{"mon", "monitor", "[\"metrics\"]", mon},
             {"rep", "rep", "\"*\"", rep},
             {"adm", "admin", "\"*\"", adm}};
    for (size_t i = 0; i < 3; i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"%s\"}",
                 u[i].user, u[i].role);
        assert_int_equal(call(f, NULL, "POST", "/v1/users", body, NULL, NULL),
                         201);
        snprintf(body, sizeof(body), "{\"user\":\"%s\",\"scopes\":%s}",
                 u[i].user, u[i].scopes);
        assert_int_equal(call(f, NULL, "POST", "/v1/tokens", body, &j, NULL),
                         201);
        snprintf(u[i].tok, 128, "%s",
                 json_string_value(json_object_get(j, "token")));
        json_decref(j);
    }
    char *text = NULL;
    assert_int_equal(call(f, mon, "GET", "/metrics", NULL, NULL, &text), 200);
    free(text);
    assert_int_equal(call(f, adm, "GET", "/metrics", NULL, NULL, NULL), 200);
    /* a plain user, even with every scope, needs a rule */
    assert_int_equal(call(f, rep, "GET", "/metrics", NULL, &j, NULL), 403);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "error"), "code")),
        "ENT_EDENIED");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "reason")),
                        "default");
    json_decref(j);
    /* an admin whose token lacks the scope: no */
    assert_int_equal(call(f, NULL, "POST", "/v1/tokens",
                          "{\"user\":\"adm\",\"scopes\":[\"read\"]}", &j, NULL),
                     201);
    char adm_read[128];
    snprintf(adm_read, sizeof(adm_read), "%s",
             json_string_value(json_object_get(j, "token")));
    json_decref(j);
    assert_int_equal(call(f, adm_read, "GET", "/metrics", NULL, &j, NULL), 403);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "error"), "reason")),
                        "scope");
    json_decref(j);
    assert_int_equal(call(f, NULL, "POST", "/v1/policies",
                          "{\"rule\":\"allow role=rep metrics *\"}", NULL,
                          NULL),
                     201);
    assert_int_equal(call(f, rep, "GET", "/metrics", NULL, NULL, NULL), 200);
    assert_int_equal(call(f, "bogus", "GET", "/metrics", NULL, &j, NULL), 401);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "error"), "code")),
        "ENT_EAUTH");
    json_decref(j);
    assert_int_equal(call(f, NULL, "POST", "/v1/policies",
                          "{\"rule\":\"deny role=monitor metrics *\"}", NULL,
                          NULL),
                     201);
    assert_int_equal(call(f, mon, "GET", "/metrics", NULL, NULL, NULL), 403);
    assert_int_equal(call(f, adm, "GET", "/metrics", NULL, NULL, NULL), 200);
    /* the scope is listed like any other */
    assert_int_equal(call(f, mon, "GET", "/v1/access/me", NULL, &j, NULL), 200);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "scopes"), 0)),
        "metrics");
    json_decref(j);
}

/* What another part does (as the webhooks do): a collector of its own,
 * under names of its own ("entente_plugin_"). */
typedef struct hooks {
    uint64_t queued, failed;
} hooks;

static void hooks_collect(ent_metrics_out *o, void *data) {
    hooks *h = data;
    ent_metrics_family(o, "entente_plugin_queue_depth", ENT_METRIC_GAUGE,
                       "deliveries waiting\nto go \\ out");
    ent_metrics_sample(o, (double)h->queued, NULL);
    ent_metrics_family(o, "entente_plugin_failures_total", ENT_METRIC_COUNTER,
                       "deliveries that failed");
    ent_metrics_sample(o, (double)h->failed, "reason", "a \"quoted\"\\ne\nw",
                       NULL);
    ent_metrics_sample(o, 1.5, "reason", "timeout", NULL);
    /* refused: counter without _total, a name taken, a bad name, a bad
     * label name */
    ent_metrics_family(o, "entente_plugin_bad", ENT_METRIC_COUNTER, "x");
    ent_metrics_sample(o, 1, NULL);
    ent_metrics_family(o, "entente_objects", ENT_METRIC_GAUGE, "again");
    ent_metrics_sample(o, 99, NULL);
    ent_metrics_family(o, "9bad-name", ENT_METRIC_GAUGE, "x");
    ent_metrics_sample(o, 1, NULL);
    ent_metrics_family(o, "entente_plugin_label", ENT_METRIC_GAUGE, "x");
    ent_metrics_sample(o, 1, "bad-label", "v", NULL);
    ent_metrics_sample(o, 2, "ok", "v", NULL);
}

static void test_registry(void **state) {
    fx *f = *state;
    static expo e;
    hooks h = {7, 3};
    assert_int_equal(
        ent_metrics_collector_add(ent_node_metrics(f->n), hooks_collect, &h),
        ENT_OK);
    char *text = scrape(f, NULL, &e);
    assert_true(value(&e, "entente_plugin_queue_depth", "") == 7);
    assert_true(value(&e, "entente_plugin_failures_total",
                      "reason=\"a \\\"quoted\\\"\\\\ne\\nw\"") == 3);
    assert_true(value(&e, "entente_plugin_failures_total",
                      "reason=\"timeout\"") == 1.5);
    assert_non_null(strstr(text,
                           "# HELP entente_plugin_queue_depth deliveries "
                           "waiting\\nto go \\\\ out\n"));
    assert_null(strstr(text, "entente_plugin_bad"));
    assert_null(strstr(text, "9bad"));
    assert_null(strstr(text, "bad-label"));
    assert_true(value(&e, "entente_objects", "") == 0); /* not 99 */
    assert_true(value(&e, "entente_plugin_label", "ok=\"v\"") == 2);
    free(text);
    ent_metrics_collector_remove(ent_node_metrics(f->n), hooks_collect, &h);
    text = scrape(f, NULL, &e);
    assert_null(strstr(text, "entente_plugin"));
    free(text);
}

/* Two nodes on loopback: H joins V's object; the ops and sessions show on
 * both sides, and neither org's name nor the object reaches the text. */
static bool h_synced(world *w) {
    static expo e;
    char *t = scrape_node(w->h, &e);
    bool done = value(&e, "entente_syncs", "state=\"done\"") >= 1;
    free(t);
    return done;
}

static void test_two_nodes(void **state) {
    (void)state;
    world *w = calloc(1, sizeof(*w));
    static const char *const names[2] = {"VeraCanary-118", "HaleCanary-229"};
    static expo ev, eh;
    uint8_t obj[32];
    char hex[65];
    assert_non_null(w);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    nodes_open(w, "/tmp", "metrics-two", ENT_LOG_OFF, names, 2);
    ent_obj_input in[2] = {{"name", SHARED_CANARY, ENT_IN_SHARED},
                           {"internal_notes", PRIV_CANARY, ENT_IN_PRIVATE}};
    node_create(w->v, "opportunity", in, 2, obj);
    node_set(w->v, obj, "next_step", "call " SHARED_CANARY);
    nodes_join(w, obj, 20000);
    assert_true(run_until(w, h_synced, 20000));
    node_set(w->v, obj, "next_step", "visit");
    run_for(w, 300);

    char *tv = scrape_node(w->v, &ev), *th = scrape_node(w->h, &eh);
    assert_true(value(&ev, "entente_ops_created_total", "") >= 3);
    assert_true(value(&ev, "entente_ops_sent_total", "") >= 2);
    assert_true(value(&ev, "entente_peers_connected", "") == 1);
    assert_true(value(&ev, "entente_sessions", "") >= 1);
    assert_true(value(&ev, "entente_joins_served_total", "result=\"ok\"") == 1);
    assert_true(value(&ev, "entente_handshakes_total", "result=\"ok\"") >= 1);
    assert_true(value(&ev, "entente_peer_bytes_total", "direction=\"out\"") >
                0);
    assert_true(value(&eh, "entente_peer_messages_total", "direction=\"in\"") >
                0);
    assert_true(value(&eh, "entente_peer_drops_total",
                      "reason=\"bad_signature\"") == 0);
    assert_true(value(&eh, "entente_ops_received_total", "") >= 2);
    assert_true(value(&eh, "entente_ops_applied_total", "") >= 2);
    assert_true(value(&eh, "entente_peers_known", "") == 1);
    assert_true(value(&eh, "entente_objects", "") == 1);
    assert_true(
        value(&eh, "entente_ops_rejected_total", "reason=\"not_member\"") == 0);
    ent_hex_encode(hex, obj, 32);
    const char *never[] = {names[0],
                           names[1],
                           SHARED_CANARY,
                           PRIV_CANARY,
                           hex,
                           ent_node_org_id(w->v),
                           ent_node_org_id(w->h)};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (strstr(tv, never[i]) != NULL || strstr(th, never[i]) != NULL)
            fail_msg("/metrics carries %s", never[i]);
    free(tv);
    free(th);
    nodes_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_counters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
        cmocka_unit_test(test_two_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
