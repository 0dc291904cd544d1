/*
 * event_test.c - the local event stream (node/events/event.h): ids in
 * commit order, nothing left by an aborted transaction, reads after a
 * cursor, pruning from the front, bad kinds refused, and the hub waking
 * subscribers only after a commit that appended events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <uv.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ids_in_commit_order, setup, teardown),
        cmocka_unit_test_setup_teardown(json_shape, setup, teardown),
        cmocka_unit_test(compact_json_as_jansson),
        cmocka_unit_test_setup_teardown(bad_input_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(prune_keeps_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(durable_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(retention, setup, teardown),
        cmocka_unit_test_setup_teardown(hub_wakes_after_commit, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
