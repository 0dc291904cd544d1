/* web_test.c - the web page's embedded files (node/web/web.h, spec/web.md):
 * which path is which file, the view addresses that answer the page, the
 * paths that are never the page's, and the security headers; and the
 * header lines of a page answer as serialised for TCP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/api/http.h"
#include "node/err.h"
#include "node/web/web.h"

static void test_files(void **state) {
    size_t n = 0;
    const ent_web_file *f = ent_web_files(&n);
    assert_int_equal(n, 3);
    const ent_web_file *index = ent_web_find("/");
    assert_non_null(index);
    assert_string_equal(index->content_type, "text/html; charset=utf-8");
    assert_true(index->len > 50);
    /* the embedded bytes are the built page: it loads the bundle */
    assert_non_null(memmem(index->data, index->len, "/app.js", 7));
    assert_null(memmem(index->data, index->len, "<script>", 8)); /* inline */
    const ent_web_file *js = ent_web_find("/app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_true(js->len > 10000);
    assert_ptr_equal(ent_web_find("/app.css")->data, f[2].data);
    assert_true(ent_web_find("/app.css")->len > 100);
}

static void test_views(void **state) {
    const ent_web_file *index = ent_web_find("/");
    const char *views[] = {"/board",
                           "/board/x",
                           "/inbox",
                           "/reports",
                           "/login",
                           "/table",
                           "/partners",
                           "/admin",
                           "/admin/users",
                           "/objects/"
                           "0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef"};
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        assert_ptr_equal(ent_web_find(views[i]), index);
    const char *not_page[] = {"/v1/objects",
                              "/v1/status",
                              "/metrics",
                              "/boardx",
                              "/inboxes",
                              "/administrator",
                              "/objects",
                              "/app.js.map",
                              "/board/x.js",
                              "/x",
                              "",
                              "board",
                              "/../app.js",
                              "/board/../v1/objects/x.y"};
    for (size_t i = 0; i < sizeof(not_page) / sizeof(not_page[0]); i++)
        assert_null(ent_web_find(not_page[i]));
    assert_null(ent_web_find(NULL));
    char long_path[400];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = '\0';
    memcpy(long_path, "/board/", 7);
    assert_null(ent_web_find(long_path));
}

/* A page answer on TCP carries the CSP and no-framing headers; one on the
 * socket does not (the socket serves no page). */
static void test_headers(void **state) {
    ent_http_response resp = {0};
    char *text = strdup("<!doctype html>");
    char *out = NULL;
    size_t len = 0;
    ent_http_response_text(&resp, 200, "text/html; charset=utf-8", text,
                           strlen(text));
    resp.headers = ENT_WEB_HEADERS;
    assert_int_equal(ent_http_response_serialize_tcp(&resp, true, &out, &len),
                     ENT_OK);
    assert_non_null(strstr(out, "\r\nContent-Type: text/html; charset=utf-8"));
    assert_non_null(strstr(out, "\r\nContent-Security-Policy: default-src "
                                "'none'; script-src 'self';"));
    assert_non_null(strstr(out, "frame-ancestors 'none'\r\n"));
    assert_non_null(strstr(out, "\r\nX-Frame-Options: DENY\r\n"));
    assert_null(strstr(out, "unsafe-"));
    assert_non_null(strstr(out, "\r\n\r\n<!doctype html>"));
    free(out);
    assert_int_equal(ent_http_response_serialize(&resp, &out, &len), ENT_OK);
    assert_null(strstr(out, "Content-Security-Policy"));
    free(out);
    ent_http_response_clear(&resp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
