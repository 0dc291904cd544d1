/* http_test.c - the pure HTTP request parser and response framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/api/http.h"

static int parse_str(const char *s, ent_http_request *req) {
    return ent_http_parse((const uint8_t *)s, strlen(s), req);
}

static void test_get(void **state) {
    ent_http_request req;
    assert_int_equal(parse_str("GET /v1/status?x=1 HTTP/1.1\r\n"
                               "Host: localhost\r\nX-Empty:\r\n"
                               "Accept: application/json\r\n\r\n",
                               &req),
                     ENT_OK);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/v1/status");
    assert_string_equal(req.query, "x=1");
    assert_int_equal(req.nheaders, 3);
    assert_string_equal(ent_http_request_header(&req, "HOST"), "localhost");
    assert_string_equal(ent_http_request_header(&req, "x-empty"), "");
    assert_string_equal(ent_http_request_header(&req, "accept"),
                        "application/json");
    assert_null(ent_http_request_header(&req, "content-length"));
    assert_null(req.body);
    ent_http_request_clear(&req);
}

static void test_post_body(void **state) {
    ent_http_request req;
    json_t *j = NULL;
    const char *s = "POST /v1/objects HTTP/1.1\r\nContent-Length: 13\r\n"
                    "Content-Type: application/json\r\n\r\n{\"type\":\"op\"}";
    assert_int_equal(parse_str(s, &req), ENT_OK);
    assert_string_equal(req.method, "POST");
    assert_int_equal(req.body_len, 13);
    assert_memory_equal(req.body, "{\"type\":\"op\"}", 13);
    assert_int_equal(ent_http_request_json(&req, &j), ENT_OK);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "op");
    json_decref(j);
    ent_http_request_clear(&req);

    /* a body that is not JSON */
    s = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n{{{";
    assert_int_equal(parse_str(s, &req), ENT_OK);
    assert_int_equal(ent_http_request_json(&req, &j), ENT_EPROTO);
    ent_http_request_clear(&req);
}

static void test_chunked(void **state) {
    ent_http_request req;
    const char *s = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    assert_int_equal(parse_str(s, &req), ENT_OK);
    assert_int_equal(req.body_len, 11);
    assert_memory_equal(req.body, "hello world", 11);
    assert_null(ent_http_request_header(&req, "x-trailer"));
    ent_http_request_clear(&req);
}

/* The same request fed one byte at a time gives the same result. */
static void test_incremental(void **state) {
    const char *s = "PUT /v1/a/b HTTP/1.1\r\nLong-Header-Name: value one\r\n"
                    "B: 2\r\nContent-Length: 4\r\n\r\nabcd";
    ent_http_parser *p;
    bool complete = false;
    size_t trailing = 0;
    assert_int_equal(ent_http_parser_new(&p), ENT_OK);
    for (size_t i = 0; i < strlen(s); i++) {
        assert_false(complete);
        assert_int_equal(ent_http_parser_feed(p, (const uint8_t *)s + i, 1,
                                              &complete, &trailing),
                         ENT_OK);
    }
    assert_true(complete);
    ent_http_request *r = ent_http_parser_request(p);
    assert_int_equal(r->nheaders, 3);
    assert_string_equal(ent_http_request_header(r, "long-header-name"),
                        "value one");
    assert_string_equal(ent_http_request_header(r, "b"), "2");
    assert_memory_equal(r->body, "abcd", 4);
    /* bytes after the request are counted, not parsed */
    assert_int_equal(ent_http_parser_feed(p, (const uint8_t *)"GET", 3,
                                          &complete, &trailing),
                     ENT_OK);
    assert_int_equal(trailing, 3);
    ent_http_parser_free(p);
}

static void test_incomplete_and_trailing(void **state) {
    ent_http_request req;
    assert_int_equal(parse_str("GET / HTTP/1.1\r\nHost: x\r\n", &req),
                     ENT_EAGAIN);
    assert_int_equal(parse_str("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
                               &req),
                     ENT_EAGAIN);
    assert_int_equal(parse_str("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
                               &req),
                     ENT_EPROTO);
    assert_null(req.path);
}

static void test_malformed(void **state) {
    ent_http_request req;
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET /x HTTP/9.9\r\n\r\n",
        "GET /x HTTP/2.0\r\n\r\n",
        "GET x HTTP/1.1\r\n\r\n",
        "GET http://evil.example/x HTTP/1.1\r\n\r\n",
        "GET /x#frag HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "\x01\x02\x03\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_str(bad[i], &req);
        if (rc != ENT_EPROTO)
            fail_msg("case %zu: %s", i, ent_err_name(rc));
        assert_null(req.path);
    }
}

static void test_head_limit(void **state) {
    ent_http_request req;
    size_t n = ENT_HTTP_MAX_HEAD + 100;
    char *s = malloc(n + 1);
    assert_non_null(s);
    /* one huge header */
    int k = snprintf(s, n, "GET / HTTP/1.1\r\nX-Big: ");
    memset(s + k, 'a', n - (size_t)k);
    s[n] = '\0';
    assert_int_equal(parse_str(s, &req), ENT_ETOOBIG);
    /* a head just under the limit is fine */
    size_t m = ENT_HTTP_MAX_HEAD - 4;
    memset(s, 'a', n);
    k = snprintf(s, n, "GET / HTTP/1.1\r\nX-Big: ");
    s[k] = 'a';
    memcpy(s + m - 2, "\r\n\r\n", 4);
    s[m + 2] = '\0';
    assert_int_equal(parse_str(s, &req), ENT_OK);
    assert_int_equal(strlen(ent_http_request_header(&req, "x-big")),
                     m - 2 - (size_t)k);
    ent_http_request_clear(&req);
    free(s);
}

static void test_too_many_headers(void **state) {
    char s[4096];
    ent_http_request req;
    int k = snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < ENT_HTTP_MAX_HEADERS + 1; i++)
        k += snprintf(s + k, sizeof(s) - (size_t)k, "H%d: v\r\n", i);
    snprintf(s + k, sizeof(s) - (size_t)k, "\r\n");
    assert_int_equal(parse_str(s, &req), ENT_ETOOBIG);
}

static void test_body_limits(void **state) {
    ent_http_request req;
    char s[256];
    snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
             ENT_HTTP_MAX_BODY + 1);
    assert_int_equal(parse_str(s, &req), ENT_ETOOBIG);
    snprintf(s, sizeof(s),
             "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n");
    assert_int_not_equal(parse_str(s, &req), ENT_OK);

    /* exactly the limit is accepted */
    size_t hl = (size_t)snprintf(
        s, sizeof(s), "POST / HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
        ENT_HTTP_MAX_BODY);
    uint8_t *big = malloc(hl + ENT_HTTP_MAX_BODY);
    assert_non_null(big);
    memcpy(big, s, hl);
    memset(big + hl, 'x', ENT_HTTP_MAX_BODY);
    assert_int_equal(ent_http_parse(big, hl + ENT_HTTP_MAX_BODY, &req), ENT_OK);
    assert_int_equal(req.body_len, ENT_HTTP_MAX_BODY);
    ent_http_request_clear(&req);
    free(big);

    /* chunked bodies are limited by their sum */
    size_t chunk = 256 * 1024;
    size_t cap = 128 + 5 * (chunk + 32);
    char *c = malloc(cap);
    assert_non_null(c);
    size_t off = (size_t)snprintf(
        c, cap, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++) {
        off += (size_t)snprintf(c + off, cap - off, "%zx\r\n", chunk);
        memset(c + off, 'y', chunk);
        off += chunk;
        memcpy(c + off, "\r\n", 2);
        off += 2;
    }
    memcpy(c + off, "0\r\n\r\n", 5);
    off += 5;
    assert_int_equal(ent_http_parse((uint8_t *)c, off, &req), ENT_ETOOBIG);
    free(c);
}

static void test_response(void **state) {
    ent_http_response resp = {0};
    char *out = NULL;
    size_t len = 0;
    int status = 0;
    uint8_t *body = NULL;
    size_t blen = 0;
    assert_int_equal(ent_http_response_error(&resp, 404, ENT_ENOENT,
                                             "no such %s", "thing"),
                     ENT_ENOENT);
    assert_int_equal(ent_http_response_serialize(&resp, &out, &len), ENT_OK);
    assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_int_equal(ent_http_parse_response((uint8_t *)out, len, &status,
                                             &body, &blen),
                     ENT_OK);
    assert_int_equal(status, 404);
    json_t *j = json_loadb((char *)body, blen, 0, NULL);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "ENT_ENOENT");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "no such thing");
    assert_true(json_is_null(json_object_get(e, "field")));
    assert_int_equal(json_object_size(e), 3);
    json_decref(j);
    free(body);
    free(out);
    ent_http_response_clear(&resp);

    /* an error about one input names it */
    ent_http_response_error_field(&resp, 400, ENT_EINVAL, "limit", "bad %d", 7);
    e = json_object_get(resp.body, "error");
    assert_string_equal(json_string_value(json_object_get(e, "field")),
                        "limit");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "ENT_EINVAL");
    ent_http_response_clear(&resp);

    /* a text body goes as it is, with its own type and no newline added */
    char *text = strdup("# HELP x y\n# TYPE x gauge\nx 1\n");
    assert_non_null(text);
    ent_http_response_json(&resp, 200, json_object()); /* replaced */
    ent_http_response_text(&resp, 200, "text/plain; version=0.0.4", text,
                           strlen(text));
    assert_int_equal(ent_http_response_serialize(&resp, &out, &len), ENT_OK);
    assert_non_null(strstr(out, "Content-Type: text/plain; version=0.0.4\r\n"));
    assert_non_null(strstr(out, "Content-Length: 30\r\n"));
    assert_int_equal(
        strcmp(out + len - 30, "# HELP x y\n# TYPE x gauge\nx 1\n"), 0);
    free(out);
    /* and a JSON body replaces it */
    ent_http_response_json(&resp, 200, json_object());
    assert_null(resp.text);
    ent_http_response_clear(&resp);

    /* a truncated response is an error */
    const char *trunc = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    assert_int_equal(ent_http_parse_response((const uint8_t *)trunc,
                                             strlen(trunc), &status, &body,
                                             &blen),
                     ENT_EPROTO);

    /* requests made by the client parse back */
    json_t *b = json_pack("{s:i}", "a", 1);
    assert_int_equal(ent_http_request_serialize("POST", "/v1/x", b, &out, &len),
                     ENT_OK);
    ent_http_request req;
    assert_int_equal(ent_http_parse((uint8_t *)out, len, &req), ENT_OK);
    assert_string_equal(req.path, "/v1/x");
    assert_memory_equal(req.body, "{\"a\":1}", 7);
    ent_http_request_clear(&req);
    free(out);
    assert_int_equal(ent_http_request_serialize("GET", "/x\r\nEvil: 1", NULL,
                                                &out, &len),
                     ENT_EINVAL);
    json_decref(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_incomplete_and_trailing),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
