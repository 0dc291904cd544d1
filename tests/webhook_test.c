/*
 * webhook_test.c - webhook records (node/webhooks/webhook.h): the
 * signature against a vector computed independently (Python's hmac), the
 * retry schedule, URL, filter and secret validation, the record round
 * trip, and the bounds of the delivery log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/err.h"
#include "node/webhooks/webhook.h"
#include "store_fixture.h"

/* python3 -c "import hmac; print(hmac.new(b'whsec_test_0123456789',
 *   b'1700000000.{\"id\":1}', 'sha256').hexdigest())" */
static void test_signature_vector(void **state) {
    char sig[ENT_WEBHOOK_SIG_MAX];
    const char *body = "{\"id\":1}";
    ent_webhook_sign(sig, "whsec_test_0123456789", 1700000000u, body,
                     strlen(body));
    assert_string_equal(sig, "t=1700000000,v1=f2b1a67e580770dd535f3b174a6e10b1"
                             "babfdcb58981a1139832e9a336407835");
    /* the time is signed: another time, another MAC */
    char other[ENT_WEBHOOK_SIG_MAX];
    ent_webhook_sign(other, "whsec_test_0123456789", 1700000001u, body,
                     strlen(body));
    assert_string_not_equal(sig + 16, other + 16);
}

static void test_backoff(void **state) {
    const uint64_t base = 1000, max = 600000;
    /* equal jitter: [d/2, d] */
    assert_int_equal(ent_webhook_backoff_ms(1, base, max, 0), 500);
    assert_int_equal(ent_webhook_backoff_ms(1, base, max, 500), 1000);
    assert_int_equal(ent_webhook_backoff_ms(1, base, max, 501), 500);
    assert_int_equal(ent_webhook_backoff_ms(2, base, max, 0), 1000);
    assert_int_equal(ent_webhook_backoff_ms(2, base, max, 1000), 2000);
    assert_int_equal(ent_webhook_backoff_ms(10, base, max, 256000), 512000);
    /* capped at max, for ever */
    assert_int_equal(ent_webhook_backoff_ms(11, base, max, 300000), 600000);
    assert_int_equal(ent_webhook_backoff_ms(40, base, max, 0), 300000);
    assert_int_equal(ent_webhook_backoff_ms(4000000000u, base, max, 300000),
                     600000);
    for (uint32_t a = 1; a < 64; a++)
        for (uint32_t r = 0; r < 5; r++) {
            uint64_t d = ent_webhook_backoff_ms(a, base, max, r * 977777u);
            assert_true(d >= base / 2 && d <= max);
        }
    /* a test's short schedule */
    assert_int_equal(ent_webhook_backoff_ms(3, 20, 100, 40), 80);
}

static void test_url(void **state) {
    char err[256];
    static const char *const good[] = {
        "http://127.0.0.1:8080/hook", "https://crm.example.com/in?x=1",
        "HTTPS://example.com", "http://[::1]:9/x", NULL};
    static const char *const bad[] = {
        "",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "example.com/hook",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://user:secret@example.com/",
        "https://user@example.com/",
        "http://",
        "http://example.com/\x01",
        "http://ex\xc3\xa9.com/",
        NULL};
    for (const char *const *u = good; *u != NULL; u++)
        assert_int_equal(ent_webhook_url_check(*u, err, sizeof(err)), ENT_OK);
    for (const char *const *u = bad; *u != NULL; u++) {
        err[0] = '\0';
        assert_int_equal(ent_webhook_url_check(*u, err, sizeof(err)),
                         ENT_EINVAL);
        assert_true(err[0] != '\0');
    }
    /* overlong */
    char *big = malloc(ENT_WEBHOOK_URL_MAX + 2);
    memset(big, 'a', ENT_WEBHOOK_URL_MAX + 1);
    memcpy(big, "http://x/", 9);
    big[ENT_WEBHOOK_URL_MAX + 1] = '\0';
    assert_int_equal(ent_webhook_url_check(big, err, sizeof(err)), ENT_EINVAL);
    assert_non_null(strstr(err, "2048"));
    big[ENT_WEBHOOK_URL_MAX] = '\0'; /* exactly the limit */
    assert_int_equal(ent_webhook_url_check(big, err, sizeof(err)), ENT_OK);
    free(big);
}

static void test_kinds(void **state) {
    ent_webhook h;
    char err[256];
    memset(&h, 0, sizeof(h));
    assert_int_equal(ent_webhook_kinds_parse(&h, "*", err, sizeof(err)),
                     ENT_OK);
    assert_true(ent_webhook_kind_match(&h, "anything.at_all"));
    assert_int_equal(ent_webhook_kinds_parse(&h, "object.*,fields.changed",
                                             err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(h.nkinds, 2);
    assert_true(ent_webhook_kind_match(&h, "object.created"));
    assert_true(ent_webhook_kind_match(&h, "fields.changed"));
    assert_false(ent_webhook_kind_match(&h, "objects"));
    assert_false(ent_webhook_kind_match(&h, "object."));
    assert_false(ent_webhook_kind_match(&h, "object"));
    assert_false(ent_webhook_kind_match(&h, "fields.changed.x"));
    static const char *const bad[] = {"",        "Object.created", "a,,b",
                                      "a,",      ",a",             "a b",
                                      "*,a",     "a.**",           "ä",
                                      NULL};
    for (const char *const *k = bad; *k != NULL; k++) {
        assert_int_equal(ent_webhook_kinds_parse(&h, *k, err, sizeof(err)),
                         ENT_EINVAL);
        assert_int_equal(h.nkinds, 0);
    }
    char many[1024] = "";
    for (int i = 0; i < 17; i++)
        strcat(many, i ? ",k" : "k");
    assert_int_equal(ent_webhook_kinds_parse(&h, many, err, sizeof(err)),
                     ENT_EINVAL);
    many[strlen(many) - 2] = '\0'; /* 16 */
    assert_int_equal(ent_webhook_kinds_parse(&h, many, err, sizeof(err)),
                     ENT_OK);
}

static void test_secret(void **state) {
    char err[256], s[ENT_WEBHOOK_SECRET_MAX + 1], t[ENT_WEBHOOK_SECRET_MAX + 1];
    assert_int_equal(ent_webhook_secret_check("0123456789abcdef", err,
                                              sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_webhook_secret_check("short", err, sizeof(err)),
                     ENT_EINVAL);
    assert_int_equal(ent_webhook_secret_check("0123456789 abcdef", err,
                                              sizeof(err)),
                     ENT_EINVAL);
    assert_int_equal(ent_webhook_secret_check(NULL, err, sizeof(err)),
                     ENT_EINVAL);
    ent_webhook_secret_new(s);
    ent_webhook_secret_new(t);
    assert_int_equal(strlen(s), 44);
    assert_string_not_equal(s, t);
    assert_int_equal(ent_webhook_secret_check(s, err, sizeof(err)), ENT_OK);
    char id[ENT_WEBHOOK_ID_HEX + 1];
    ent_webhook_id_new(id);
    assert_true(ent_webhook_id_valid(id));
    assert_false(ent_webhook_id_valid("0123456789ABCDEF"));
    assert_false(ent_webhook_id_valid("0123456789abcde"));
    assert_false(ent_webhook_id_valid("../../../../etc/"));
}

/* ---- the table ---------------------------------------------------------------- */

struct fx {
    ent_store *s;
    char dir[256];
    ent_webhook h;
    int n;
    json_t *log;
};

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    assert_int_equal(tmp_store(&f->s, f->dir, sizeof(f->dir), "webhook", NULL),
                     ENT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    ent_store_close(f->s);
    rm_tree(f->dir);
    json_decref(f->log);
    free(f);
    return 0;
}

static void make_hook(ent_webhook *h, const char *id) {
    char err[64];
    memset(h, 0, sizeof(*h));
    snprintf(h->id, sizeof(h->id), "%s", id);
    snprintf(h->url, sizeof(h->url), "http://127.0.0.1:1/x");
    assert_int_equal(ent_webhook_kinds_parse(h, "object.*,webhook.test", err,
                                             sizeof(err)),
                     ENT_OK);
    snprintf(h->secret, sizeof(h->secret), "s3cret-s3cret-s3cret");
    snprintf(h->owner, sizeof(h->owner), "rep1");
    snprintf(h->owner_id, sizeof(h->owner_id), "0123456789abcdef");
    h->created = 1700000000000ull;
}

static int put_fn(ent_txn *txn, void *data) {
    struct fx *f = data;
    int rc = ent_webhook_put(txn, &f->h);
    if (rc == ENT_OK)
        rc = ent_events_cursor_set(txn, "hook:00000000000000aa", 7);
    return rc;
}

static int get_fn(ent_txn *txn, void *data) {
    struct fx *f = data;
    return ent_webhook_get(txn, "00000000000000aa", &f->h);
}

static int count_one(void *data, const ent_webhook *h) {
    ((struct fx *)data)->n++;
    return 0;
}

static int each_fn(ent_txn *txn, void *data) {
    return ent_webhook_each(txn, count_one, data);
}

static int log_fn(ent_txn *txn, void *data) {
    struct fx *f = data;
    for (int i = 0; i < 250; i++) {
        ent_webhook_attempt a = {.event = (uint64_t)i + 1,
                                 .attempt = 1,
                                 .status = i % 2 ? 200 : 500,
                                 .error = i % 2 ? NULL : "HTTP 500",
                                 .duration_ms = 3,
                                 .time = 1700000000000ull + (uint64_t)i};
        int rc = ent_webhook_log_add(txn, &f->h, &a);
        if (rc != ENT_OK)
            return rc;
    }
    return ent_webhook_put(txn, &f->h);
}

/* An error text cut in the middle of a UTF-8 character (libcurl's message
 * cut at 150 bytes; one may quote a receiver's certificate name): the
 * attempt and the record are still written, the stray bytes as '?'. */
static int log_cut_fn(ent_txn *txn, void *data) {
    struct fx *f = data;
    ent_webhook_attempt a = {.event = 251,
                             .attempt = 1,
                             .error = "SSL: certificate subject name "
                                      "'\xc3\xa9t\xc3' does not match",
                             .duration_ms = 3,
                             .time = 1700000000250ull};
    snprintf(f->h.last_error, sizeof(f->h.last_error), "%s", a.error);
    int rc = ent_webhook_log_add(txn, &f->h, &a);
    return rc == ENT_OK ? ent_webhook_put(txn, &f->h) : rc;
}

static int read_log_fn(ent_txn *txn, void *data) {
    struct fx *f = data;
    json_decref(f->log);
    f->log = NULL;
    return ent_webhook_log_json(txn, "00000000000000aa", &f->log);
}

static int del_fn(ent_txn *txn, void *data) {
    return ent_webhook_del(txn, "00000000000000aa");
}

static int cursor_fn(ent_txn *txn, void *data) {
    uint64_t id;
    return ent_events_cursor_get(txn, "hook:00000000000000aa", &id);
}

static void test_table_and_log(void **state) {
    struct fx *f = *state;
    make_hook(&f->h, "00000000000000aa");
    assert_int_equal(ent_store_write(f->s, put_fn, f), ENT_OK);
    make_hook(&f->h, "00000000000000bb");
    assert_int_equal(ent_store_write(f->s, put_fn, f), ENT_OK);
    memset(&f->h, 0, sizeof(f->h));
    assert_int_equal(ent_store_read(f->s, get_fn, f), ENT_OK);
    assert_string_equal(f->h.url, "http://127.0.0.1:1/x");
    assert_string_equal(f->h.owner, "rep1");
    assert_string_equal(f->h.owner_id, "0123456789abcdef");
    assert_string_equal(f->h.secret, "s3cret-s3cret-s3cret");
    assert_int_equal(f->h.nkinds, 2);
    assert_string_equal(f->h.kinds[1], "webhook.test");
    assert_int_equal(f->h.created, 1700000000000ull);
    assert_int_equal(ent_store_read(f->s, each_fn, f), ENT_OK);
    assert_int_equal(f->n, 2);
    /* the secret is never in the public JSON */
    json_t *pub = ent_webhook_json(&f->h, false);
    assert_null(json_object_get(pub, "secret"));
    json_decref(pub);

    /* 250 attempts: the log keeps the last 100 */
    assert_int_equal(ent_store_write(f->s, log_fn, f), ENT_OK);
    assert_int_equal(f->h.log_next, 250);
    assert_int_equal(ent_store_read(f->s, read_log_fn, f), ENT_OK);
    assert_int_equal(json_array_size(f->log), ENT_WEBHOOK_LOG_MAX);
    json_t *first = json_array_get(f->log, 0);
    json_t *last = json_array_get(f->log, ENT_WEBHOOK_LOG_MAX - 1);
    assert_int_equal(json_integer_value(json_object_get(first, "seq")), 150);
    assert_int_equal(json_integer_value(json_object_get(first, "event")), 151);
    assert_int_equal(json_integer_value(json_object_get(last, "seq")), 249);
    assert_int_equal(json_integer_value(json_object_get(last, "status")), 200);
    assert_true(json_is_null(json_object_get(last, "error")));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f->log, 0), "error")),
        "HTTP 500");
    /* the counter survives a reload */
    assert_int_equal(ent_store_read(f->s, get_fn, f), ENT_OK);
    assert_int_equal(f->h.log_next, 250);

    /* an error text that is not valid UTF-8 is still recorded */
    assert_int_equal(ent_store_write(f->s, log_cut_fn, f), ENT_OK);
    assert_int_equal(ent_store_read(f->s, read_log_fn, f), ENT_OK);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(f->log, ENT_WEBHOOK_LOG_MAX - 1), "error")),
        "SSL: certificate subject name '\xc3\xa9t?' does not match");
    assert_int_equal(ent_store_read(f->s, get_fn, f), ENT_OK);
    assert_int_equal(f->h.log_next, 251);
    assert_string_equal(f->h.last_error,
                        "SSL: certificate subject name '\xc3\xa9t?' does not "
                        "match");

    /* removing deletes the record, the log and the cursor */
    assert_int_equal(ent_store_read(f->s, cursor_fn, f), ENT_OK);
    assert_int_equal(ent_store_write(f->s, del_fn, f), ENT_OK);
    assert_int_equal(ent_store_read(f->s, get_fn, f), ENT_ENOENT);
    assert_int_equal(ent_store_read(f->s, cursor_fn, f), ENT_ENOENT);
    assert_int_equal(ent_store_read(f->s, read_log_fn, f), ENT_OK);
    assert_int_equal(json_array_size(f->log), 0);
    assert_int_equal(ent_store_write(f->s, del_fn, f), ENT_ENOENT);
    f->n = 0;
    assert_int_equal(ent_store_read(f->s, each_fn, f), ENT_OK);
    assert_int_equal(f->n, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_vector),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_secret),
        cmocka_unit_test_setup_teardown(test_table_and_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
