/* api_tcp_test.c - the pieces of the TCP API that decide without a socket
 * (spec/api.md "The TCP API", spec/access.md §2.3): reading the session
 * cookie, the same-origin and CSRF checks, the rate limiter on a fake
 * clock, sessions versus bearer tokens in the store, and the refusals of
 * ent_tls_ctx_new (missing file, not PEM, key of another certificate, key
 * readable by others) and of ent_api_tcp_configure (no TLS off loopback).
 * Certificates are made at run time with the openssl command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/api/api_session.h"
#include "node/api/ratelimit.h"
#include "node/api/tls.h"
#include "node/err.h"
#include "storage/store.h"

/* ---- cookies ---------------------------------------------------------- */

static void test_cookie_parse(void **state) {
    char v[32];
    (void)state;
    assert_int_equal(ent_api_cookie_parse("ent_session=abc", "ent_session", v,
                                          sizeof(v)),
                     ENT_OK);
    assert_string_equal(v, "abc");
    assert_int_equal(ent_api_cookie_parse("a=1;  ent_session=x_y-z ; b=2",
                                          "ent_session", v, sizeof(v)),
                     ENT_OK);
    assert_string_equal(v, "x_y-z");
    /* a name that only ends or starts like it is another cookie */
    assert_int_equal(ent_api_cookie_parse("xent_session=1; ent_sessionx=2",
                                          "ent_session", v, sizeof(v)),
                     ENT_ENOENT);
    assert_int_equal(ent_api_cookie_parse("", "ent_session", v, sizeof(v)),
                     ENT_ENOENT);
    /* twice, empty, bad octets, no '=', too long */
    assert_int_equal(ent_api_cookie_parse("ent_session=a; ent_session=a",
                                          "ent_session", v, sizeof(v)),
                     ENT_EPROTO);
    assert_int_equal(ent_api_cookie_parse("ent_session=", "ent_session", v,
                                          sizeof(v)),
                     ENT_EPROTO);
    assert_int_equal(ent_api_cookie_parse("ent_session=a\"b", "ent_session",
                                          v, sizeof(v)),
                     ENT_EPROTO);
    assert_int_equal(ent_api_cookie_parse("ent_session=a b", "ent_session", v,
                                          sizeof(v)),
                     ENT_EPROTO);
    assert_int_equal(ent_api_cookie_parse("junk; ent_session=a", "ent_session",
                                          v, sizeof(v)),
                     ENT_EPROTO);
    assert_int_equal(ent_api_cookie_parse("ent_session=0123456789abcdef0123"
                                          "456789abcdef",
                                          "ent_session", v, sizeof(v)),
                     ENT_ETOOBIG);
}

/* A request with the given header lines ("name", "value" pairs). */
static void req_with(ent_http_request *r, const char *method,
                     const char *const *hdrs, size_t n) {
    memset(r, 0, sizeof(*r));
    strcpy(r->method, method);
    for (size_t i = 0; i < n; i++) {
        r->headers[i].name = (char *)hdrs[2 * i];
        r->headers[i].value = (char *)hdrs[2 * i + 1];
    }
    r->nheaders = n;
}

static void test_session_cookie_headers(void **state) {
    ent_http_request r;
    char tok[ENT_TOKEN_STRLEN + 1];
    (void)state;
    const char *one[] = {"cookie", "a=1", "cookie", "ent_session=abc"};
    req_with(&r, "GET", one, 2);
    assert_int_equal(ent_api_session_cookie(&r, tok), ENT_OK);
    assert_string_equal(tok, "abc");
    /* the same name in two headers: a planted cookie, refused */
    const char *two[] = {"cookie", "ent_session=abc", "cookie",
                         "ent_session=evil"};
    req_with(&r, "GET", two, 2);
    assert_int_equal(ent_api_session_cookie(&r, tok), ENT_EPROTO);
    assert_string_equal(tok, "");
    req_with(&r, "GET", NULL, 0);
    assert_int_equal(ent_api_session_cookie(&r, tok), ENT_ENOENT);
}

static void test_same_origin(void **state) {
    ent_http_request r;
    (void)state;
    req_with(&r, "POST", NULL, 0); /* not a browser */
    assert_true(ent_api_same_origin(&r, false));
    const char *same[] = {"host", "127.0.0.1:8443", "origin",
                          "https://127.0.0.1:8443", "sec-fetch-site",
                          "same-origin"};
    req_with(&r, "POST", same, 3);
    assert_true(ent_api_same_origin(&r, true));
    assert_false(ent_api_same_origin(&r, false)); /* scheme differs */
    const char *cross[] = {"host", "127.0.0.1:8443", "origin",
                           "https://evil.example"};
    req_with(&r, "POST", cross, 2);
    assert_false(ent_api_same_origin(&r, true));
    const char *null_o[] = {"host", "h", "origin", "null"};
    req_with(&r, "POST", null_o, 2);
    assert_false(ent_api_same_origin(&r, false));
    const char *site[] = {"sec-fetch-site", "cross-site"};
    req_with(&r, "POST", site, 1);
    assert_false(ent_api_same_origin(&r, false));
    const char *none[] = {"sec-fetch-site", "none"};
    req_with(&r, "POST", none, 1);
    assert_true(ent_api_same_origin(&r, false));
    const char *nohost[] = {"origin", "http://h"};
    req_with(&r, "POST", nohost, 1);
    assert_false(ent_api_same_origin(&r, false));
}

static void test_csrf(void **state) {
    const char *session = "ent_0123456789abcdef_00112233445566778899aabbccdd"
                          "eeff00112233445566778899aabbccddeeff";
    char good[ENT_CSRF_STRLEN + 1], bad[ENT_CSRF_STRLEN + 1];
    ent_http_request r;
    (void)state;
    ent_access_session_csrf(session, good);
    assert_int_equal(strlen(good), ENT_CSRF_STRLEN);
    /* bound to the session: another session gives another token */
    ent_access_session_csrf("ent_0123456789abcdef_x", bad);
    assert_string_not_equal(good, bad);
    req_with(&r, "GET", NULL, 0); /* safe methods need none */
    assert_int_equal(ent_api_csrf_check(&r, session), ENT_OK);
    req_with(&r, "POST", NULL, 0);
    assert_int_equal(ent_api_csrf_check(&r, session), ENT_EDENIED);
    const char *wrong[] = {"x-csrf-token", bad};
    req_with(&r, "DELETE", wrong, 1);
    assert_int_equal(ent_api_csrf_check(&r, session), ENT_EDENIED);
    const char *shorter[] = {"x-csrf-token", "abc"};
    req_with(&r, "PUT", shorter, 1);
    assert_int_equal(ent_api_csrf_check(&r, session), ENT_EDENIED);
    const char *right[] = {"x-csrf-token", good};
    req_with(&r, "PATCH", right, 1);
    assert_int_equal(ent_api_csrf_check(&r, session), ENT_OK);
}

static void test_set_cookie(void **state) {
    ent_http_response resp = {0};
    (void)state;
    ent_api_session_set_cookie(&resp, "ent_x", 43200, true);
    assert_string_equal(resp.set_cookie, "ent_session=ent_x; Path=/; "
                                         "Max-Age=43200; HttpOnly; "
                                         "SameSite=Strict; Secure");
    ent_api_session_set_cookie(&resp, NULL, 43200, false);
    assert_string_equal(resp.set_cookie, "ent_session=; Path=/; Max-Age=0; "
                                         "HttpOnly; SameSite=Strict");
}

/* ---- the rate limiter ------------------------------------------------- */

static void test_ratelimit(void **state) {
    ent_ratelimit *r = NULL;
    uint64_t retry = 0;
    (void)state;
    assert_int_equal(ent_ratelimit_new(&r, 10, 0, 64), ENT_EINVAL);
    assert_int_equal(ent_ratelimit_new(&r, 10, 20, 64), ENT_OK);
    /* a burst of 20, then empty */
    for (int i = 0; i < 20; i++)
        assert_true(ent_ratelimit_take(r, "t:a", 1000, NULL));
    assert_false(ent_ratelimit_take(r, "t:a", 1000, &retry));
    assert_in_range(retry, 90, 101); /* one request back in 100 ms */
    /* another key has its own bucket */
    assert_true(ent_ratelimit_take(r, "t:b", 1000, NULL));
    /* 100 ms later one more, not two */
    assert_true(ent_ratelimit_take(r, "t:a", 1100, NULL));
    assert_false(ent_ratelimit_take(r, "t:a", 1100, NULL));
    /* refills up to the burst only */
    for (int i = 0; i < 20; i++)
        assert_true(ent_ratelimit_take(r, "t:a", 100000, NULL));
    assert_false(ent_ratelimit_take(r, "t:a", 100000, NULL));
    /* many keys: the table stays bounded and keeps working */
    char k[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "a:10.0.%d.%d", i / 256, i % 256);
        assert_true(ent_ratelimit_take(r, k, 200000, NULL));
    }
    ent_ratelimit_free(r);
    /* rate 0: no limit */
    assert_int_equal(ent_ratelimit_new(&r, 0, 1, 64), ENT_OK);
    for (int i = 0; i < 1000; i++)
        assert_true(ent_ratelimit_take(r, "t:a", 5, NULL));
    ent_ratelimit_free(r);
}

/* ---- sessions in the store -------------------------------------------- */

static void rm_dir(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static void test_sessions(void **state) {
    char dir[] = "/tmp/ent-api-tcp-test.XXXXXX";
    ent_store *s = NULL;
    ent_pwhash_cost cost;
    char err[256], sess[ENT_TOKEN_STRLEN + 1], sid[ENT_TOKEN_ID_HEX + 1],
        tok[ENT_TOKEN_STRLEN + 1], tid[ENT_TOKEN_ID_HEX + 1];
    ent_principal p;
    (void)state;
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ent_store_open(&s, dir, ENT_STORE_CREATE, NULL), ENT_OK);
    ent_pwhash_cost_min(&cost);
    ent_user_spec u = {.name = "rep", .role = "rep", .disabled = -1};
    assert_int_equal(ent_access_user_add(s, &u, &cost, 1000, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_access_session_create(s, "rep", 1000, sess, sid),
                     ENT_OK);
    assert_int_equal(ent_access_token_create(s, "rep", ENT_ACT_ALL, 0, 1000,
                                             tok, tid),
                     ENT_OK);
    /* a session only as a cookie, a token only as a bearer */
    assert_int_equal(ent_access_session_authenticate(s, sess, 2000, &p),
                     ENT_OK);
    assert_true(p.session);
    assert_string_equal(p.user, "rep");
    assert_int_equal(ent_access_authenticate(s, sess, 2000, &p), ENT_EPERM);
    assert_int_equal(ent_access_session_authenticate(s, tok, 2000, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(s, tok, 2000, &p), ENT_OK);
    assert_false(p.session);
    /* expiry after ENT_SESSION_MS */
    assert_int_equal(
        ent_access_session_authenticate(s, sess, 1000 + ENT_SESSION_MS, &p),
        ENT_EEXPIRED);
    /* one wrong character of the secret */
    sess[ENT_TOKEN_STRLEN - 1] = sess[ENT_TOKEN_STRLEN - 1] == 'a' ? 'b' : 'a';
    assert_int_equal(ent_access_session_authenticate(s, sess, 2000, &p),
                     ENT_EPERM);
    /* ended (logout deletes the row) */
    assert_int_equal(ent_access_token_revoke(s, sid), ENT_OK);
    assert_int_equal(ent_access_session_create(s, "nobody", 1000, sess, sid),
                     ENT_ENOENT);
    ent_store_close(s);
    rm_dir(dir);
}

/* ---- TLS configuration ------------------------------------------------ */

static int sh(const char *cmd) {
    return system(cmd);
}

static void test_tls_refusals(void **state) {
    char dir[] = "/tmp/ent-tls-test.XXXXXX", cmd[1024], err[512], c1[128],
                 k1[128], k2[128];
    ent_tls_ctx *ctx = NULL;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(c1, sizeof(c1), "%s/c1.pem", dir);
    snprintf(k1, sizeof(k1), "%s/k1.pem", dir);
    snprintf(k2, sizeof(k2), "%s/k2.pem", dir);
    for (int i = 1; i <= 2; i++) {
        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey ec -pkeyopt "
                 "ec_paramgen_curve:P-256 -nodes -keyout %s/k%d.pem -out "
                 "%s/c%d.pem -days 1 -subj /CN=localhost >/dev/null 2>&1 && "
                 "chmod 600 %s/k%d.pem",
                 dir, i, dir, i, dir, i);
        assert_int_equal(sh(cmd), 0);
    }
    /* the right pair loads */
    assert_int_equal(ent_tls_ctx_new(&ctx, c1, k1, err, sizeof(err)), ENT_OK);
    ent_tls_ctx_free(ctx);
    ctx = NULL;
    /* missing file */
    assert_int_equal(ent_tls_ctx_new(&ctx, "/nonexistent/c.pem", k1, err,
                                     sizeof(err)),
                     ENT_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/c.pem"));
    assert_null(ctx);
    /* the key of another certificate */
    assert_int_equal(ent_tls_ctx_new(&ctx, c1, k2, err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, k2));
    assert_null(ctx);
    /* a key as the certificate, a certificate as the key */
    assert_int_equal(ent_tls_ctx_new(&ctx, k1, k1, err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, "not a PEM certificate"));
    /* c1 is 0644: refused as a key for being readable, before parsing */
    assert_int_equal(ent_tls_ctx_new(&ctx, c1, c1, err, sizeof(err)),
                     ENT_EINSECURE);
    assert_int_equal(chmod(k1, 0640), 0);
    assert_int_equal(ent_tls_ctx_new(&ctx, c1, k1, err, sizeof(err)),
                     ENT_EINSECURE);
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(ctx);
    rm_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_parse),
        cmocka_unit_test(test_session_cookie_headers),
        cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_set_cookie),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_tls_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
