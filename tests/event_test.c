/*
 * event_test.c - the local event stream (node/events/event.h): ids in
 * commit order, nothing left by an aborted transaction, reads after a
 * cursor, pruning from the front, bad kinds refused, and the hub waking
 * subscribers only after a commit that appended events; the stored text
 * byte for byte as jansson writes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/events/event.h"
#include "store_fixture.h"

struct fx {
    ent_store *s;
    char dir[256];
};

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    assert_int_equal(tmp_store(&f->s, f->dir, sizeof(f->dir), "event", NULL),
                     ENT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    ent_store_close(f->s);
    rm_tree(f->dir);
    free(f);
    return 0;
}

struct app {
    const char *kind;
    const char *user;
    int fail; /* return this after appending */
    uint64_t id;
};

static int append_fn(ent_txn *txn, void *data) {
    struct app *a = data;
    ent_event ev = {.kind = a->kind, .user = a->user, .has_object = true};
    memset(ev.object, 0xab, 32);
    json_t *d = json_pack("{s:s}", "field", "stage");
    int rc = ent_events_append(txn, &ev, 1700000000123ull, &a->id);
    if (rc == ENT_OK) { /* a second one in the same transaction */
        ev.data = d;
        ev.has_object = false;
        rc = ent_events_append(txn, &ev, 1700000000124ull, &a->id);
    }
    json_decref(d);
    return rc != ENT_OK ? rc : a->fail;
}

struct seen {
    uint64_t ids[64];
    size_t n;
    int stop_at;
};

static int collect(void *data, const ent_event *ev) {
    struct seen *s = data;
    s->ids[s->n++] = ev->id;
    if (s->stop_at != 0 && (int)s->n == s->stop_at)
        return 7;
    return 0;
}

struct rd {
    uint64_t after, first, last;
    size_t max;
    struct seen *seen;
    int rc;
};

static int read_fn(ent_txn *txn, void *data) {
    struct rd *r = data;
    int rc = ent_events_last(txn, &r->last);
    if (rc == ENT_OK)
        rc = ent_events_first(txn, &r->first);
    if (rc == ENT_OK && r->seen != NULL)
        r->rc = ent_events_read(txn, r->after, r->max, collect, r->seen);
    return rc;
}

static void ids_in_commit_order(void **state) {
    struct fx *f = *state;
    struct app a = {.kind = "fields.changed", .user = "ana"};
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    assert_int_equal(a.id, 2);
    a.fail = ENT_EINVAL; /* aborted: its two events must vanish */
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_EINVAL);
    a.fail = 0;
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    assert_int_equal(a.id, 4); /* not 6: the abort used no id */

    struct seen s = {0};
    struct rd r = {.after = 1, .seen = &s};
    assert_int_equal(ent_store_read(f->s, read_fn, &r), ENT_OK);
    assert_int_equal(r.rc, ENT_OK);
    assert_int_equal(r.first, 1);
    assert_int_equal(r.last, 4);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ids[0], 2);
    assert_int_equal(s.ids[2], 4);

    struct seen s2 = {0}; /* max and early stop */
    struct rd r2 = {.after = 0, .max = 2, .seen = &s2};
    assert_int_equal(ent_store_read(f->s, read_fn, &r2), ENT_OK);
    assert_int_equal(s2.n, 2);
    struct seen s3 = {.stop_at = 1};
    struct rd r3 = {.after = 0, .seen = &s3};
    assert_int_equal(ent_store_read(f->s, read_fn, &r3), ENT_OK);
    assert_int_equal(r3.rc, 7);
    assert_int_equal(s3.n, 1);
}

static int first_json(void *data, const ent_event *ev) {
    json_t **out = data;
    *out = ent_event_json(ev);
    return 1;
}

struct js {
    json_t *j;
};

static int json_fn(ent_txn *txn, void *data) {
    struct js *j = data;
    return ent_events_read(txn, 1, 1, first_json, &j->j) == 1 ? ENT_OK
                                                              : ENT_EINVAL;
}

static void json_shape(void **state) {
    struct fx *f = *state;
    struct app a = {.kind = "fields.changed", .user = "ana"};
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    struct js j = {0};
    assert_int_equal(ent_store_read(f->s, json_fn, &j), ENT_OK);
    assert_non_null(j.j);
    /* event 2: no object, data {"field":"stage"}, time .124 */
    assert_int_equal(json_integer_value(json_object_get(j.j, "id")), 2);
    assert_string_equal(json_string_value(json_object_get(j.j, "time")),
                        "2023-11-14T22:13:20.124Z");
    assert_true(json_is_null(json_object_get(j.j, "object")));
    assert_string_equal(json_string_value(json_object_get(j.j, "user")), "ana");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j.j, "data"), "field")),
                        "stage");
    json_decref(j.j);
}

static void bad_input_refused(void **state) {
    struct fx *f = *state;
    const char *bad[] = {"", "Fields", "a b", "x\n",
                         "0123456789012345678901234567890123456789012345678"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct app a = {.kind = bad[i]};
        assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_EINVAL);
    }
    struct app a = {.kind = "ok", .user = ""};
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_EINVAL);
    a.user = "b\xc3"; /* not UTF-8 */
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_EINVAL);
    struct rd r = {0};
    assert_int_equal(ent_store_read(f->s, read_fn, &r), ENT_OK);
    assert_int_equal(r.last, 0); /* nothing written */
}

static int prune_fn(ent_txn *txn, void *data) {
    return ent_events_prune(txn, *(uint64_t *)data, NULL);
}

static void prune_keeps_ids(void **state) {
    struct fx *f = *state;
    struct app a = {.kind = "k"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    uint64_t upto = 5;
    assert_int_equal(ent_store_write(f->s, prune_fn, &upto), ENT_OK);
    struct rd r = {0};
    assert_int_equal(ent_store_read(f->s, read_fn, &r), ENT_OK);
    assert_int_equal(r.first, 6);
    assert_int_equal(r.last, 6);
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    assert_int_equal(a.id, 8);
    upto = 100; /* everything: the newest stays, so ids are never reused */
    assert_int_equal(ent_store_write(f->s, prune_fn, &upto), ENT_OK);
    assert_int_equal(ent_store_read(f->s, read_fn, &r), ENT_OK);
    assert_int_equal(r.first, 8);
    assert_int_equal(r.last, 8);
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    assert_int_equal(a.id, 10);
}

struct many {
    int n;
    uint64_t t0; /* event i has time t0 + i s */
};

static int many_fn(ent_txn *txn, void *data) {
    struct many *m = data;
    int rc = ENT_OK;
    for (int i = 0; i < m->n && rc == ENT_OK; i++) {
        ent_event ev = {.kind = "k"};
        rc = ent_events_append(txn, &ev, m->t0 + (uint64_t)i * 1000, NULL);
    }
    return rc;
}

struct ret {
    ent_events_retention r;
    uint64_t now;
    ent_events_retained out;
    const char *cursor; /* set to cursor_at first, when not NULL */
    uint64_t cursor_at;
};

static int retain_fn(ent_txn *txn, void *data) {
    struct ret *r = data;
    if (r->cursor != NULL) {
        int rc = ent_events_cursor_set(txn, r->cursor, r->cursor_at);
        if (rc != ENT_OK)
            return rc;
    }
    return ent_events_retain(txn, r->now, &r->r, &r->out);
}

static void retention(void **state) {
    struct fx *f = *state;
    struct many m = {20, 1000000}; /* ids 1..20, times 1000 s .. 1019 s */
    struct rd rd = {0};
    assert_int_equal(ent_store_write(f->s, many_fn, &m), ENT_OK);
    /* keep 10 */
    struct ret r = {.r = {.keep = 10, .batch = 100}, .now = 2000000};
    assert_int_equal(ent_store_write(f->s, retain_fn, &r), ENT_OK);
    assert_int_equal(r.out.deleted, 10);
    assert_false(r.out.held || r.out.forced || r.out.more);
    assert_int_equal(ent_store_read(f->s, read_fn, &rd), ENT_OK);
    assert_int_equal(rd.first, 11);
    /* keep 5, but a durable reader is at 12: held there */
    r.r.keep = 5;
    r.cursor = "hook:a";
    r.cursor_at = 12;
    assert_int_equal(ent_store_write(f->s, retain_fn, &r), ENT_OK);
    assert_true(r.out.held);
    assert_false(r.out.forced);
    assert_int_equal(ent_store_read(f->s, read_fn, &rd), ENT_OK);
    assert_int_equal(rd.first, 13);
    /* the hard cap (3) prunes past the cursor, in batches of 2 */
    r.cursor = NULL;
    r.r.hard_cap = 3;
    r.r.batch = 2;
    assert_int_equal(ent_store_write(f->s, retain_fn, &r), ENT_OK);
    assert_true(r.out.forced && r.out.more);
    assert_int_equal(r.out.deleted, 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ent_store_write(f->s, retain_fn, &r), ENT_OK);
    assert_int_equal(ent_store_read(f->s, read_fn, &rd), ENT_OK);
    assert_int_equal(rd.first, 18);
    assert_int_equal(rd.last, 20);
    /* by age: events older than 1.5 s before now = 1020.5 s go, the
     * newest always stays */
    struct ret a = {.r = {.max_age_ms = 1500, .batch = 100},
                    .now = 1020500,
                    .cursor = "hook:a",
                    .cursor_at = 100};
    assert_int_equal(ent_store_write(f->s, retain_fn, &a), ENT_OK);
    assert_int_equal(ent_store_read(f->s, read_fn, &rd), ENT_OK);
    assert_int_equal(rd.first, 20); /* 18 (1017 s) and 19 (1018 s) went */
    a.now = 9000000;
    assert_int_equal(ent_store_write(f->s, retain_fn, &a), ENT_OK);
    assert_int_equal(ent_store_read(f->s, read_fn, &rd), ENT_OK);
    assert_int_equal(rd.first, 20);
    assert_int_equal(rd.last, 20);
    struct ret bad = {.r = {.batch = 0}};
    assert_int_equal(ent_store_write(f->s, retain_fn, &bad), ENT_EINVAL);
}

static int cursor_fn(ent_txn *txn, void *data) {
    uint64_t *out = data, v;
    assert_int_equal(ent_events_cursor_min(txn, &v), ENT_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(ent_events_cursor_set(txn, "hook:1", 7), ENT_OK);
    assert_int_equal(ent_events_cursor_set(txn, "hook:2", 3), ENT_OK);
    assert_int_equal(ent_events_cursor_set(txn, "hook:1", 9), ENT_OK);
    assert_int_equal(ent_events_cursor_set(txn, "Bad Name", 1), ENT_EINVAL);
    assert_int_equal(ent_events_cursor_set(txn, "", 1), ENT_EINVAL);
    assert_int_equal(ent_events_cursor_get(txn, "hook:1", &v), ENT_OK);
    assert_int_equal(v, 9);
    assert_int_equal(ent_events_cursor_get(txn, "nope", &v), ENT_ENOENT);
    assert_int_equal(ent_events_cursor_min(txn, out), ENT_OK);
    assert_int_equal(ent_events_cursor_del(txn, "hook:2"), ENT_OK);
    assert_int_equal(ent_events_cursor_min(txn, &v), ENT_OK);
    assert_int_equal(v, 9);
    return ENT_OK;
}

static void durable_cursors(void **state) {
    struct fx *f = *state;
    uint64_t m = 0;
    assert_int_equal(ent_store_write(f->s, cursor_fn, &m), ENT_OK);
    assert_int_equal(m, 3);
}

static int nothing_fn(ent_txn *txn, void *data) {
    static const uint8_t k[] = "x";
    return ent_txn_put(txn, ENT_TBL_META, k, 1, k, 1, 0);
}

static void wake_count(void *data) {
    (*(int *)data)++;
}

static void closed(void *arg) {
    (*(int *)arg)++;
}

static void hub_wakes_after_commit(void **state) {
    struct fx *f = *state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ent_events_hub *h;
    assert_int_equal(ent_events_hub_new(&h, f->s), ENT_OK);
    assert_int_equal(ent_events_hub_start(h, &loop), ENT_OK);
    int woke = 0, woke2 = 0;
    ent_events_sub *sub, *sub2;
    assert_int_equal(ent_events_subscribe(h, wake_count, &woke, &sub), ENT_OK);
    assert_int_equal(ent_events_subscribe(h, wake_count, &woke2, &sub2),
                     ENT_OK);

    assert_int_equal(ent_store_write(f->s, nothing_fn, NULL), ENT_OK);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(woke, 0); /* no event appended: nobody woken */

    struct app a = {.kind = "k", .fail = ENT_EINVAL};
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_EINVAL);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(woke, 0); /* aborted: nobody woken */

    a.fail = 0;
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(woke, 1); /* two commits, one coalesced wake-up */
    assert_int_equal(woke2, 1);

    ent_events_unsubscribe(sub2);
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(woke, 2);
    assert_int_equal(woke2, 1);

    int done = 0;
    ent_events_hub_close(h, closed, &done);
    assert_int_equal(ent_store_write(f->s, append_fn, &a), ENT_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(done, 1);
    assert_int_equal(woke, 2); /* closed: no more wake-ups */
    ent_events_hub_free(h);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The stored text is byte for byte what json_dumps(JSON_COMPACT) writes:
 * nested objects in insertion order, arrays, every escape (quote,
 * backslash, the short ones, other control bytes, a NUL inside a string),
 * UTF-8 left as it is, slashes and DEL unescaped, integers, reals, true,
 * false, null, empty containers. */
static void compact_json_as_jansson(void **state) {
    (void)state;
    json_t *o = json_pack(
        "{s:s,s:I,s:I,s:f,s:f,s:b,s:b,s:n,s:[],s:{},s:[s,i,{s:s}],s:{s:{s:s}}}",
        "z", "a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f end \xc3\xa9\xe2\x82\xac", "int",
        (json_int_t)-9007199254740993LL, "zero", (json_int_t)0, "real", 1234.5,
        "tiny", 1e-300, "t", 1, "f", 0, "nul", "empty_a", "empty_o", "arr", "x",
        7, "k", "v", "nest", "private", "amount", "1,000.00 USD");
    assert_non_null(o);
    assert_int_equal(
        json_object_set_new(o, "nul\\key\"", json_stringn("a\0b", 3)), 0);
    const char *keys[] = {"b", "a", "c", "aa", ""};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(
            json_object_set_new(o, keys[i], json_integer((json_int_t)i)), 0);
    char *want = json_dumps(o, JSON_COMPACT);
    char *got = ent_events_json_compact(o);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(o);
}

/* ---- the stored bytes, against jansson ---------------------------------- */

static uint64_t rng_next(uint64_t *r) { /* xorshift64*, deterministic */
    *r ^= *r >> 12;
    *r ^= *r << 25;
    *r ^= *r >> 27;
    return *r * 2685821657736338717ull;
}

/* Pieces strings are made of: every byte that needs an escape, the bytes
 * around them that do not, and UTF-8 of 2, 3 and 4 bytes. */
static const char *const pieces[] = {
    "\x01", "\x02", "\x03", "\x04", "\x05", "\x06", "\x07", "\b", "\t", "\n",
    "\x0b", "\f", "\r", "\x0e", "\x0f", "\x10", "\x11", "\x12", "\x13",
    "\x14", "\x15", "\x16", "\x17", "\x18", "\x19", "\x1a", "\x1b", "\x1c",
    "\x1d", "\x1e", "\x1f", "\"", "\\", "/", "\x7f", " ", "!", "#", "[", "]",
    "!\"#", "[\\]", "\xc2\x80", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e",
    "\xef\xbf\xbf", "a", "Z", "0", "abcdefgh", "0123456789abcdef"};
#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

/* A valid UTF-8 string of about len bytes, NULs included at times. */
static json_t *rand_string(uint64_t *r, size_t len) {
    char *b = malloc(len + 16);
    size_t n = 0;
    while (n < len) {
        uint64_t x = rng_next(r);
        const char *p = x % 7 == 0 ? pieces[x / 7 % NPIECES]
                                   : pieces[NPIECES - 1 - x / 7 % 4];
        size_t pl = strlen(p);
        if (x % 97 == 0)
            p = "\0", pl = 1;
        memcpy(b + n, p, pl);
        n += pl;
    }
    json_t *j = json_stringn(b, n);
    assert_non_null(j);
    free(b);
    return j;
}

static const json_int_t ints[] = {0,
                                  1,
                                  -1,
                                  9,
                                  10,
                                  -10,
                                  99,
                                  100,
                                  1700000000123,
                                  999999999999999999,
                                  -999999999999999999,
                                  INT64_MAX,
                                  INT64_MIN,
                                  INT64_MIN + 1};

static json_t *rand_value(uint64_t *r, int depth) {
    uint64_t x = rng_next(r);
    switch (depth >= 4 ? 3 + x % 6 : x % 9) {
    case 0:
    case 1: {
        json_t *o = json_object();
        size_t n = (size_t)(x >> 8) % 6;
        for (size_t i = 0; i < n; i++) {
            json_t *k = rand_string(r, (size_t)(rng_next(r) % 12));
            assert_int_equal(json_object_setn_new(o, json_string_value(k),
                                                  strlen(json_string_value(k)),
                                                  rand_value(r, depth + 1)),
                             0);
            json_decref(k);
        }
        return o;
    }
    case 2: {
        json_t *a = json_array();
        size_t n = (size_t)(x >> 8) % 5;
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, rand_value(r, depth + 1));
        return a;
    }
    case 3:
    case 4:
        return rand_string(r, (size_t)(x >> 8) % (x % 50 == 0 ? 5000 : 40));
    case 5: {
        size_t n = sizeof(ints) / sizeof(ints[0]);
        uint64_t u = rng_next(r) >> (x >> 10) % 64;
        return json_integer((x >> 8) % 3 == 0 ? ints[(x >> 10) % n]
                            : (x >> 16) % 2   ? (json_int_t)(0 - u)
                                              : (json_int_t)u);
    }
    case 6:
        return json_real((double)(int64_t)rng_next(r) / 1e6);
    case 7:
        return x >> 8 & 1 ? json_true() : json_false();
    default:
        return json_null();
    }
}

static void assert_as_jansson(const json_t *v) {
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *got = ent_events_json_compact(v);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

/* Random documents, and every escape at every offset of a 16-byte string
 * (the writer looks at eight bytes at a time), against json_dumps. */
static void compact_json_random(void **state) {
    (void)state;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3000; i++) {
        json_t *o = json_object();
        assert_int_equal(json_object_set_new(o, "v", rand_value(&r, 0)), 0);
        assert_as_jansson(o);
        json_decref(o);
    }
    const size_t lens[] = {1, 7, 8, 9, 16, 17, 23};
    for (unsigned c = 0; c < 0x80; c++)
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
            for (size_t at = 0; at < lens[l]; at++) {
                char b[24];
                memset(b, 'x', sizeof(b));
                b[at] = (char)c;
                json_t *o = json_pack("{s:s%}", "s", b, lens[l]);
                assert_non_null(o);
                assert_as_jansson(o);
                json_decref(o);
            }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        json_t *o = json_pack("{s:I}", "i", ints[i]);
        assert_as_jansson(o);
        json_decref(o);
    }
    json_t *big = json_object(); /* past any first buffer, escapes in it */
    json_t *s = rand_string(&r, 200000);
    assert_int_equal(json_object_set_new(big, "big", s), 0);
    assert_as_jansson(big);
    json_decref(big);
}

/* The text the events table held before the envelope was written by hand:
 * the object json_pack made, serialised by jansson. */
static char *text_as_before(const ent_event *ev, uint64_t now_ms) {
    char hex[65];
    json_t *o = json_pack("{s:I,s:s}", "time", (json_int_t)now_ms, "kind",
                          ev->kind);
    if (ev->has_object) {
        ent_hex_encode(hex, ev->object, 32);
        json_object_set_new(o, "object", json_string(hex));
    }
    if (ev->has_org) {
        ent_hex_encode(hex, ev->org, 32);
        json_object_set_new(o, "org", json_string(hex));
    }
    if (ev->user != NULL)
        json_object_set_new(o, "user", json_string(ev->user));
    if (ev->data != NULL)
        json_object_set(o, "data", ev->data);
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

struct stored {
    ent_event ev;
    uint64_t now, id;
    int rc;
    const void *val;
    size_t vlen;
    char *text; /* a copy of val */
};

static int stored_fn(ent_txn *txn, void *data) {
    struct stored *st = data;
    uint8_t key[8];
    st->rc = ent_events_append(txn, &st->ev, st->now, &st->id);
    if (st->rc != ENT_OK)
        return ENT_OK;
    for (int i = 7; i >= 0; i--)
        key[7 - i] = (uint8_t)(st->id >> (8 * i));
    int rc = ent_txn_get(txn, ENT_TBL_EVENTS, key, 8, &st->val, &st->vlen);
    if (rc == ENT_OK) {
        st->text = malloc(st->vlen + 1);
        memcpy(st->text, st->val, st->vlen);
        st->text[st->vlen] = '\0';
    }
    return rc;
}

/* Events with and without object, org, user and data, their strings full
 * of escapes, stored byte for byte as before (and one spelled out). */
static void stored_text_as_before(void **state) {
    struct fx *f = *state;
    uint64_t r = 42;
    const char *users[] = {NULL, "ana", "a\"b\\c\n\x01\x1f\xc3\xa9/\x7f",
                           "0123456789012345678901234567890123456789012345678"
                           "901234567890123"};
    const uint64_t times[] = {0, 1700000000123ull, (uint64_t)INT64_MAX};
    for (int i = 0; i < 200; i++) {
        struct stored st = {.ev = {.kind = i % 2 ? "object.created"
                                                 : "private.changed",
                                   .has_object = i % 3 != 0,
                                   .has_org = i % 5 < 2,
                                   .user = users[i % 4]},
                            .now = times[i % 3]};
        memset(st.ev.object, i, 32);
        memset(st.ev.org, 255 - i, 32);
        if (i % 7 != 0) {
            st.ev.data = json_object();
            size_t n = (size_t)(i % 5) + 1;
            for (size_t k = 0; k < n; k++) {
                char name[16];
                snprintf(name, sizeof(name), "f%zu\"\\\n", k);
                json_object_set_new(st.ev.data, name, rand_value(&r, 2));
            }
        }
        char *want = text_as_before(&st.ev, st.now);
        assert_non_null(want);
        assert_int_equal(ent_store_write(f->s, stored_fn, &st), ENT_OK);
        if (strlen(want) > ENT_EVENT_MAX) {
            assert_int_equal(st.rc, ENT_ETOOBIG);
        } else {
            assert_int_equal(st.rc, ENT_OK);
            assert_int_equal(st.vlen, strlen(want));
            assert_string_equal(st.text, want);
        }
        free(want);
        free(st.text);
        json_decref(st.ev.data);
    }
    struct stored st = {.ev = {.kind = "object.created",
                               .has_object = true,
                               .has_org = true,
                               .user = "ana"},
                        .now = 1700000000123ull};
    memset(st.ev.object, 0xab, 32);
    memset(st.ev.org, 0x01, 32);
    st.ev.data = json_pack("{s:s,s:s,s:{s:s,s:I,s:n}}", "op", "ff", "type",
                           "deal", "shared", "name", "Acme \"A\"\t\xc3\xa9",
                           "n", (json_int_t)-5, "x");
    assert_int_equal(ent_store_write(f->s, stored_fn, &st), ENT_OK);
    assert_int_equal(st.rc, ENT_OK);
    assert_string_equal(
        st.text,
        "{\"time\":1700000000123,\"kind\":\"object.created\",\"object\":\""
        "abababababababababababababababababababababababababababababababab\","
        "\"org\":\"010101010101010101010101010101010101010101010101010101010101"
        "0101\",\"user\":\"ana\",\"data\":{\"op\":\"ff\",\"type\":\"deal\","
        "\"shared\":{\"name\":\"Acme \\\"A\\\"\\t\xc3\xa9\",\"n\":-5,\"x\":"
        "null}}}");
    free(st.text);
    json_decref(st.ev.data);
    /* past the limit: refused, nothing stored */
    st = (struct stored){.ev = {.kind = "k"}, .now = 1};
    st.ev.data = json_object();
    json_t *s = rand_string(&r, ENT_EVENT_MAX);
    json_object_set_new(st.ev.data, "big", s);
    assert_int_equal(ent_store_write(f->s, stored_fn, &st), ENT_OK);
    assert_int_equal(st.rc, ENT_ETOOBIG);
    json_decref(st.ev.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ids_in_commit_order, setup, teardown),
        cmocka_unit_test_setup_teardown(json_shape, setup, teardown),
        cmocka_unit_test(compact_json_as_jansson),
        cmocka_unit_test(compact_json_random),
        cmocka_unit_test_setup_teardown(stored_text_as_before, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_input_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(prune_keeps_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(durable_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(retention, setup, teardown),
        cmocka_unit_test_setup_teardown(hub_wakes_after_commit, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
