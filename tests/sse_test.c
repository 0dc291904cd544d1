/*
 * sse_test.c - the Server-Sent Events parser (node/cli/sse.h): events
 * split across feeds at every byte, LF, CRLF and CR line ends, comments,
 * multi-line data, events without data not dispatched, the last id kept,
 * a stop from the callback, and the line limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/sse.h"
#include "node/err.h"

struct got {
    char ids[8][16], events[8][32], data[8][64];
    size_t n;
    int stop_at;
};

static int on_event(void *data, const ent_sse_event *ev) {
    struct got *g = data;
    if (g->n < 8) {
        snprintf(g->ids[g->n], 16, "%s", ev->id);
        snprintf(g->events[g->n], 32, "%s", ev->event);
        snprintf(g->data[g->n], 64, "%s", ev->data);
    }
    g->n++;
    return g->stop_at != 0 && (int)g->n == g->stop_at ? 42 : 0;
}

static const char stream[] =
    ": entente events\nretry: 3000\n\n"
    "id: 1\nevent: object.created\ndata: {\"id\":1}\n\n"
    ": ping\n\n"
    "event: reset\r\ndata: {\"after\":1}\r\n\r\n"
    "id:3\rdata:a\rdata: b\r\r"
    "id: 4\nevent: nodata\n\n";

static void check(const struct got *g) {
    assert_int_equal(g->n, 3);
    assert_string_equal(g->ids[0], "1");
    assert_string_equal(g->events[0], "object.created");
    assert_string_equal(g->data[0], "{\"id\":1}");
    assert_string_equal(g->ids[1], "1"); /* no id line: the last one */
    assert_string_equal(g->events[1], "reset");
    assert_string_equal(g->ids[2], "3");
    assert_string_equal(g->events[2], "");
    assert_string_equal(g->data[2], "a\nb");
}

static void every_split(void **state) {
    (void)state;
    size_t len = strlen(stream);
    for (size_t cut = 0; cut <= len; cut++) {
        ent_sse_parser *p;
        struct got g = {0};
        assert_int_equal(ent_sse_parser_new(&p), ENT_OK);
        assert_int_equal(
            ent_sse_parser_feed(p, (const uint8_t *)stream, cut, on_event, &g),
            ENT_OK);
        assert_int_equal(ent_sse_parser_feed(p, (const uint8_t *)stream + cut,
                                             len - cut, on_event, &g),
                         ENT_OK);
        check(&g);
        ent_sse_parser_free(p);
    }
    /* byte by byte */
    ent_sse_parser *p;
    struct got g = {0};
    assert_int_equal(ent_sse_parser_new(&p), ENT_OK);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(ent_sse_parser_feed(p, (const uint8_t *)stream + i, 1,
                                             on_event, &g),
                         ENT_OK);
    check(&g);
    ent_sse_parser_free(p);
}

static void stop_and_limits(void **state) {
    (void)state;
    ent_sse_parser *p;
    struct got g = {.stop_at = 1};
    assert_int_equal(ent_sse_parser_new(&p), ENT_OK);
    assert_int_equal(ent_sse_parser_feed(p, (const uint8_t *)stream,
                                         strlen(stream), on_event, &g),
                     42);
    ent_sse_parser_free(p);

    size_t big = ENT_SSE_LINE_MAX + 10;
    char *line = malloc(big);
    assert_non_null(line);
    memset(line, 'x', big);
    memcpy(line, "data: ", 6);
    struct got g2 = {0};
    assert_int_equal(ent_sse_parser_new(&p), ENT_OK);
    assert_int_equal(
        ent_sse_parser_feed(p, (const uint8_t *)line, big, on_event, &g2),
        ENT_ETOOBIG);
    /* dead after an error */
    assert_int_equal(
        ent_sse_parser_feed(p, (const uint8_t *)"\n\n", 2, on_event, &g2),
        ENT_EPROTO);
    assert_int_equal(g2.n, 0);
    ent_sse_parser_free(p);
    free(line);
    ent_sse_parser_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_split),
        cmocka_unit_test(stop_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
