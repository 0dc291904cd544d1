/* object_check_test.c - received values obey the local value rules
 * (node/objects/object_check.c ent__obj_check_values, node/objects/value.c
 * ent_value_check; spec/objects.md "Values"): validly signed ops of a
 * member carrying a text with a newline or control characters, invalid
 * UTF-8, an over-long or empty value, a bad field name, an unknown type or
 * a bad currency are each refused at receipt and counted, change nothing
 * in the store, and a later good op still applies and shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/objects/value.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

static const ent_obj_input opp_in[] = {{"name", "Acme rollout", false}};

typedef struct world {
    tnode a, b;
    uint8_t id[32];
    uint8_t key[32];
} world;

static int key_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    if (vlen < 32)
        return ENT_ECORRUPT;
    memcpy(data, val, 32);
    return 1;
}

typedef struct hk_req {
    const uint8_t *obj;
    uint8_t key[32];
    ent_op_header *h;
} hk_req;

static int hk_fn(ent_txn *txn, void *data) {
    hk_req *r = data;
    int rc = ent_txn_scan(txn, ENT_TBL_KEYS, r->obj, 32, key_scan, r->key);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_HEADS, r->obj, 32, thead_scan, r->h);
    return rc;
}

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    char err[256];
    ent_op *add = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    if (w == NULL || tnode_open(&w->a, 91) != 0 || tnode_open(&w->b, 92) != 0)
        return -1;
    if (ent_obj_create(w->a.eng, "opportunity", opp_in, 1, w->id, NULL, err,
                       sizeof(err)) != ENT_OK ||
        ent_obj_add_member(w->a.eng, w->id, tnode_pk(&w->b), ENT_ROLE_MEMBER,
                           &add, &boxes, &nboxes) != ENT_OK ||
        ent_obj_accept_keys(w->b.eng, w->id, boxes, nboxes) != ENT_OK ||
        tnode_sync(&w->b, &w->a, w->id) != 0)
        return -1;
    free(boxes);
    ent_op_free(add);
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world *w = *state;
    tnode_close(&w->a);
    tnode_close(&w->b);
    free(w);
    return 0;
}

/* An op of b (seq 1, on a's heads) whose sealed body is exactly body. */
static ent_op *op_of_body(world *w, uint8_t kind, const uint8_t *body,
                          size_t blen) {
    ent_op_header h;
    ent_op *op = NULL;
    memset(&h, 0, sizeof(h));
    hk_req r = {.obj = w->id, .h = &h};
    assert_int_equal(ent_store_read(w->a.store, hk_fn, &r), ENT_OK);
    h.version = ENT_OP_VERSION;
    h.kind = kind;
    memcpy(h.object, w->id, 32);
    memcpy(h.author, tnode_pk(&w->b), 32);
    h.seq = 1;
    h.hlc = (w->a.now + 100) << 16;
    h.epoch = 0;
    assert_int_equal(ent_op_seal(&op, &h, body, blen, r.key, w->b.id), ENT_OK);
    return op;
}

/* The CBOR body of a set of one field (no checks beyond the encoder's). */
static void set_body(const char *name, const ent_value *v, uint8_t **body,
                     size_t *blen) {
    ent_op_field f;
    ent_op_body b;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    snprintf(f.name, sizeof(f.name), "%s", name);
    f.v = *v;
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    assert_int_equal(ent_op_body_encode(&b, body, blen), ENT_OK);
}

static void text_body(uint8_t kind, const char *s, size_t len, uint8_t **body,
                      size_t *blen) {
    ent_op_body b;
    memset(&b, 0, sizeof(b));
    b.kind = kind;
    b.text = (char *)s;
    b.textlen = len;
    assert_int_equal(ent_op_body_encode(&b, body, blen), ENT_OK);
}

static ent_value text_value(ent_vtype t, const char *s, size_t len) {
    ent_value v;
    memset(&v, 0, sizeof(v));
    v.type = t;
    v.u.text.s = (char *)s;
    v.u.text.len = len;
    return v;
}

/* Replaces the first occurrence of from (flen bytes) in *body by to. */
static void patch(uint8_t **body, size_t *blen, const void *from, size_t flen,
                  const void *to, size_t tlen) {
    uint8_t *p = memmem(*body, *blen, from, flen);
    assert_non_null(p);
    size_t off = (size_t)(p - *body), nlen = *blen - flen + tlen;
    uint8_t *nb = malloc(nlen);
    assert_non_null(nb);
    memcpy(nb, *body, off);
    memcpy(nb + off, to, tlen);
    memcpy(nb + off + tlen, *body + off + flen, *blen - off - flen);
    free(*body);
    *body = nb;
    *blen = nlen;
}

/*
 * Sends op to a: refused with one of the expected codes, counted once in
 * rejected (and in bad_value for ENT_EBADVALUE), nothing stored.
 */
static void refused(world *w, ent_op *op, int want, const char *what) {
    ent_obj_stats s0, s1;
    ent_apply_info info;
    tdump d0 = tnode_dump(&w->a), d1;
    ent_obj_stats_get(w->a.eng, &s0);
    int rc = ent_obj_apply(w->a.eng, op->raw, op->rawlen, &info);
    if (rc != want)
        fail_msg("%s: %s, want %s", what, ent_err_name(rc), ent_err_name(want));
    assert_false(info.pending);
    ent_obj_stats_get(w->a.eng, &s1);
    assert_int_equal(s1.rejected, s0.rejected + 1);
    assert_int_equal(s1.applied, s0.applied);
    assert_int_equal(s1.bad_value,
                     s0.bad_value + (want == ENT_EBADVALUE ? 1 : 0));
    if (want != ENT_EBADVALUE)
        assert_int_equal(s1.corrupt, s0.corrupt + 1);
    d1 = tnode_dump(&w->a);
    assert_true(tdump_equal(&d0, &d1));
    free(d0.buf);
    free(d1.buf);
    /* the object still shows */
    json_t *js = NULL;
    assert_int_equal(ent_obj_show_json(w->a.eng, w->id, false, &js), ENT_OK);
    json_decref(js);
    ent_op_free(op);
}

static void refuse_set(world *w, const char *name, ent_value v, int want,
                       const char *what) {
    uint8_t *body;
    size_t blen;
    set_body(name, &v, &body, &blen);
    refused(w, op_of_body(w, ENT_OP_SET, body, blen), want, what);
    free(body);
}

/* Text values that break the text rule: the validator refuses them. */
static void test_bad_text(void **state) {
    world *w = *state;
    static const struct {
        const char *s;
        const char *what;
    } bad[] = {
        {"line one\nline two", "newline"},
        {"carriage\rreturn", "carriage return"},
        {"nul-free \x01 control", "C0 control"},
        {"escape \x1b[2J", "escape sequence"},
        {"del \x7f", "DEL"},
        {"c1 \xc2\x85 next line", "C1 control"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refuse_set(w, "next_step", text_value(ENT_VT_TEXT, bad[i].s,
                                              strlen(bad[i].s)),
                   ENT_EBADVALUE, bad[i].what);
    /* the same rules for an enum value, a stage and a comment */
    refuse_set(w, "region", text_value(ENT_VT_ENUM, "EM\nEA", 5),
               ENT_EBADVALUE, "enum newline");
    uint8_t *body;
    size_t blen;
    text_body(ENT_OP_STAGE, "Won\n", 4, &body, &blen);
    refused(w, op_of_body(w, ENT_OP_STAGE, body, blen), ENT_EBADVALUE,
            "stage newline");
    free(body);
    text_body(ENT_OP_COMMENT, "hi\x07", 3, &body, &blen);
    refused(w, op_of_body(w, ENT_OP_COMMENT, body, blen), ENT_EBADVALUE,
            "comment bell");
    free(body);
}

/* Not UTF-8: overlong, surrogate, stray bytes, above U+10FFFF. */
static void test_bad_utf8(void **state) {
    world *w = *state;
    static const char *bad[] = {"\xff\xfe", "over\xc0\xaflong",
                                "sur\xed\xa0\x80rogate", "\xf4\x90\x80\x80",
                                "cut \xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ent_value v = text_value(ENT_VT_TEXT, bad[i], strlen(bad[i]));
        uint8_t *body;
        size_t blen;
        ent_op_field f;
        ent_op_body b;
        memset(&f, 0, sizeof(f));
        memset(&b, 0, sizeof(b));
        strcpy(f.name, "next_step");
        f.v = v;
        b.kind = ENT_OP_SET;
        b.fields = &f;
        b.nfields = 1;
        /* the CBOR layer may refuse a text item that is not UTF-8: then
         * build it as valid text and patch the bytes in */
        if (ent_op_body_encode(&b, &body, &blen) != ENT_OK) {
            char ok[16];
            memset(ok, 'Q', strlen(bad[i]));
            f.v = text_value(ENT_VT_TEXT, ok, strlen(bad[i]));
            assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
            patch(&body, &blen, ok, strlen(bad[i]), bad[i], strlen(bad[i]));
        }
        ent_op *op = op_of_body(w, ENT_OP_SET, body, blen);
        free(body);
        /* refused either by the CBOR decoder (text must be UTF-8) or by
         * the value rules: never stored */
        ent_apply_info info;
        ent_obj_stats s0, s1;
        tdump d0 = tnode_dump(&w->a), d1;
        ent_obj_stats_get(w->a.eng, &s0);
        int rc = ent_obj_apply(w->a.eng, op->raw, op->rawlen, &info);
        assert_true(rc == ENT_EBADVALUE || rc == ENT_ECORRUPT);
        ent_obj_stats_get(w->a.eng, &s1);
        assert_int_equal(s1.rejected, s0.rejected + 1);
        d1 = tnode_dump(&w->a);
        assert_true(tdump_equal(&d0, &d1));
        free(d0.buf);
        free(d1.buf);
        ent_op_free(op);
    }
}

/* Too long, empty, a bad name, an unknown type tag, a bad currency. */
static void test_bad_shapes(void **state) {
    world *w = *state;
    /* an enum value longer than an allowed value may be */
    char e[ENT_VALUE_ENUM_MAX + 1];
    memset(e, 'E', sizeof(e));
    refuse_set(w, "region", text_value(ENT_VT_ENUM, e, sizeof(e)),
               ENT_EBADVALUE, "enum too long");
    /* field names by the template's rule */
    ent_value ok = text_value(ENT_VT_TEXT, "fine", 4);
    refuse_set(w, "Next Step", ok, ENT_EBADVALUE, "name with space");
    refuse_set(w, "next\nstep", ok, ENT_EBADVALUE, "name with newline");
    refuse_set(w, "9lives", ok, ENT_EBADVALUE, "name with a digit first");
    /* a text of 4,097 bytes (the encoder stops at 4,096: patched in) */
    char *big = malloc(ENT_VALUE_TEXT_MAX + 1);
    assert_non_null(big);
    memset(big, 'T', ENT_VALUE_TEXT_MAX + 1);
    uint8_t *body;
    size_t blen;
    set_body("next_step", (ent_value[]){text_value(ENT_VT_TEXT, big,
                                                   ENT_VALUE_TEXT_MAX)},
             &body, &blen);
    static const uint8_t hdr4096[] = {0x79, 0x10, 0x00, 'T'};
    static const uint8_t hdr4097[] = {0x79, 0x10, 0x01, 'T', 'T'};
    patch(&body, &blen, hdr4096, sizeof(hdr4096), hdr4097, sizeof(hdr4097));
    refused(w, op_of_body(w, ENT_OP_SET, body, blen), ENT_ECORRUPT,
            "text too long");
    free(body);
    free(big);
    /* an empty enum value: [5, ""] */
    set_body("region", (ent_value[]){text_value(ENT_VT_ENUM, "Z", 1)}, &body,
             &blen);
    patch(&body, &blen, "\x82\x05\x61Z", 4, "\x82\x05\x60", 3);
    refused(w, op_of_body(w, ENT_OP_SET, body, blen), ENT_ECORRUPT,
            "empty enum");
    free(body);
    /* the type tag of a text value replaced by an unknown one: [9, ...] */
    set_body("next_step", &ok, &body, &blen);
    patch(&body, &blen, "\x82\x01\x64" "fine", 7, "\x82\x09\x64" "fine", 7);
    refused(w, op_of_body(w, ENT_OP_SET, body, blen), ENT_ECORRUPT,
            "unknown type");
    free(body);
    /* a text tag over an integer payload: [1, 7] */
    ent_value iv;
    memset(&iv, 0, sizeof(iv));
    iv.type = ENT_VT_INT;
    iv.u.i = 7;
    set_body("next_step", &iv, &body, &blen);
    patch(&body, &blen, "\x82\x02\x07", 3, "\x82\x01\x07", 3);
    refused(w, op_of_body(w, ENT_OP_SET, body, blen), ENT_ECORRUPT,
            "text tag, integer payload");
    free(body);
    /* a currency in lower case */
    ent_value mv;
    memset(&mv, 0, sizeof(mv));
    mv.type = ENT_VT_MONEY;
    mv.u.money.minor = 100;
    memcpy(mv.u.money.cur, "USD", 4);
    set_body("joint_target", &mv, &body, &blen);
    patch(&body, &blen, "USD", 3, "usd", 3);
    refused(w, op_of_body(w, ENT_OP_SET, body, blen), ENT_ECORRUPT,
            "lower-case currency");
    free(body);
}

/* After every refusal, a good op of the same author and seq applies. */
static void test_good_op_after(void **state) {
    world *w = *state;
    ent_value v = text_value(ENT_VT_TEXT, "Workshop\twith tab", 17);
    uint8_t *body;
    size_t blen;
    set_body("next_step", &v, &body, &blen);
    ent_op *op = op_of_body(w, ENT_OP_SET, body, blen);
    free(body);
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(w->a.eng, op->raw, op->rawlen, &info),
                     ENT_OK);
    assert_false(info.pending);
    ent_op_free(op);
    json_t *js = NULL;
    assert_int_equal(ent_obj_show_json(w->a.eng, w->id, false, &js), ENT_OK);
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(js, "shared"), "next_step")),
        "Workshop\twith tab");
    json_decref(js);
    ent_obj_stats st;
    ent_obj_stats_get(w->a.eng, &st);
    assert_true(st.bad_value >= 13); /* 9 texts, 4 shapes */
}

/* The validator itself, as local writes use it. */
static void test_value_check(void **state) {
    ent_value v = text_value(ENT_VT_TEXT, "ok\tfine", 7);
    assert_int_equal(ent_value_check(&v), ENT_OK);
    v = text_value(ENT_VT_TEXT, "a\nb", 3);
    assert_int_equal(ent_value_check(&v), ENT_EBADVALUE);
    v = text_value(ENT_VT_ENUM, "", 0);
    assert_int_equal(ent_value_check(&v), ENT_EBADVALUE);
    v.type = (ent_vtype)9;
    assert_int_equal(ent_value_check(&v), ENT_EBADVALUE);
    assert_true(ent_value_name_valid("next_step"));
    assert_false(ent_value_name_valid("Next"));
    assert_false(ent_value_name_valid(""));
    char n65[66];
    memset(n65, 'a', 65);
    n65[65] = '\0';
    assert_false(ent_value_name_valid(n65));
    n65[64] = '\0';
    assert_true(ent_value_name_valid(n65));
}

/* The tests share one world, in order: the refusals, then the good op. */
int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_check),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_good_op_after),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
