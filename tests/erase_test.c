/*
 * erase_test.c - erasure (spec/objects.md "Erasure"): the erase body and
 * the erased op record codecs, and the engine: an erase op by the owner
 * drops a field (its value, writes, op bodies, the private value of that
 * name) on the owner and on a member that applies the op, leaves the other
 * fields, refuses an erase by a non-owner, and after erasing the whole
 * object no canary byte is left in either store's data.mdb file, free
 * pages included (the store's scrub after the commit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/objects/object.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

/* ------------------------------------------------------------- codecs */

static void test_erase_body_codec(void **state) {
    (void)state;
    uint8_t ids[3 * 32];
    for (int i = 0; i < 3; i++)
        memset(ids + i * 32, 0x10 * (i + 1), 32);
    ent_op_body b = {.kind = ENT_OP_ERASE, .nerased = 3};
    strcpy(b.field, "contact_email");
    b.erased = ids;
    uint8_t *enc = NULL;
    size_t len;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    ent_op_body d;
    assert_int_equal(ent_op_body_decode(&d, ENT_OP_ERASE, enc, len), ENT_OK);
    assert_string_equal(d.field, "contact_email");
    assert_int_equal(d.nerased, 3);
    assert_memory_equal(d.erased, ids, sizeof(ids));
    ent_op_body_clear(&d);
    /* trailing byte, truncation */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, enc, len);
    longer[len] = 0;
    assert_int_not_equal(ent_op_body_decode(&d, ENT_OP_ERASE, longer, len + 1),
                         ENT_OK);
    assert_int_not_equal(ent_op_body_decode(&d, ENT_OP_ERASE, enc, len - 1),
                         ENT_OK);
    free(longer);
    free(enc);
    /* the whole object: empty field name */
    b.field[0] = '\0';
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    assert_int_equal(ent_op_body_decode(&d, ENT_OP_ERASE, enc, len), ENT_OK);
    assert_string_equal(d.field, "");
    ent_op_body_clear(&d);
    free(enc);
    /* unsorted ids: refused to encode, non-canonical to decode */
    memset(ids, 0x40, 32);
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    memset(ids, 0x10, 32);
    /* none, or more than ENT_OP_ERASE_MAX */
    b.nerased = 0;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    uint8_t *many = calloc(ENT_OP_ERASE_MAX + 1, 32);
    for (size_t i = 0; i <= ENT_OP_ERASE_MAX; i++) {
        many[i * 32 + 30] = (uint8_t)(i >> 8);
        many[i * 32 + 31] = (uint8_t)i;
    }
    b.erased = many;
    b.nerased = ENT_OP_ERASE_MAX;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    assert_int_equal(ent_op_body_decode(&d, ENT_OP_ERASE, enc, len), ENT_OK);
    ent_op_body_clear(&d);
    free(enc);
    b.nerased = ENT_OP_ERASE_MAX + 1;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    free(many);
    /* a hand-made body with unsorted ids: [ "", [h'22..', h'11..'] ] */
    uint8_t raw[2 + 1 + 1 + 2 * 34];
    size_t o = 0;
    raw[o++] = 0x82;
    raw[o++] = 0x60;
    raw[o++] = 0x82;
    for (int i = 0; i < 2; i++) {
        raw[o++] = 0x58;
        raw[o++] = 32;
        memset(raw + o, i == 0 ? 0x22 : 0x11, 32);
        o += 32;
    }
    assert_int_equal(ent_op_body_decode(&d, ENT_OP_ERASE, raw, o),
                     ENT_ENONCANON);
}

static void test_erased_record_codec(void **state) {
    (void)state;
    ent_op_erased e = {.kind = ENT_OP_SET, .seq = 7, .hlc = 123456789};
    memset(e.id, 1, 32);
    memset(e.eraser, 2, 32);
    memset(e.object, 3, 32);
    memset(e.author, 4, 32);
    uint8_t buf[ENT_OP_ERASED_MAX], stub[ENT_OP_STUB_LEN];
    size_t len;
    assert_int_equal(ent_op_erased_encode(&e, buf, &len), ENT_OK);
    assert_int_equal(buf[0], 0x87);
    ent_op_erased d;
    assert_int_equal(ent_op_erased_decode(&d, buf, len), ENT_OK);
    assert_memory_equal(&d, &e, sizeof(e));
    assert_int_not_equal(ent_op_erased_decode(&d, buf, len - 1), ENT_OK);
    buf[len] = 0;
    assert_int_not_equal(ent_op_erased_decode(&d, buf, len + 1), ENT_OK);
    /* seq 0 and an unknown kind are no record */
    ent_op_erased bad = e;
    bad.seq = 0;
    assert_int_equal(ent_op_erased_encode(&bad, buf, &len), ENT_OK);
    assert_int_equal(ent_op_erased_decode(&d, buf, len), ENT_ECORRUPT);
    bad = e;
    bad.kind = ENT_OP_KIND__COUNT;
    assert_int_equal(ent_op_erased_encode(&bad, buf, &len), ENT_EINVAL);
    /* the stub row keeps everything but the object (the row key's) */
    ent_op_stub_make(&e, stub);
    assert_true(ent_op_is_stub(stub, sizeof(stub)));
    assert_false(ent_op_is_stub(stub, sizeof(stub) - 1));
    assert_int_equal(ent_op_stub_read(stub, sizeof(stub), e.object, &d),
                     ENT_OK);
    assert_memory_equal(&d, &e, sizeof(e));
}

/* ------------------------------------------------------------- engine */

#define MAIL "CANARY-MAIL-e1a5e"
#define NAME "CANARY-NAME-77b0c"
#define NOTE "CANARY-NOTE-90d3f"

/* Whether the file dir/data.mdb holds needle anywhere. */
static bool file_has(const char *dir, const char *needle) {
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    size_t nl = strlen(needle);
    bool found = false;
    for (long i = 0; !found && i + (long)nl <= n; i++)
        found = memcmp(buf + i, needle, nl) == 0;
    free(buf);
    return found;
}

/* Whether object id's show JSON on n holds needle. */
static bool shows(tnode *n, const uint8_t id[32], const char *needle) {
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, false, &j), ENT_OK);
    char *s = json_dumps(j, JSON_COMPACT);
    bool has = strstr(s, needle) != NULL;
    free(s);
    json_decref(j);
    return has;
}

static void test_erase_field_and_object(void **state) {
    (void)state;
    tnode a, b;
    uint8_t id[32];
    char err[256];
    ent_op *op = NULL;
    const ent_obj_input in[] = {{"company", "Initech", ENT_IN_SHARED},
                                {"contact_email", MAIL, ENT_IN_SHARED},
                                {"contact_name", NAME, ENT_IN_SHARED},
                                {"internal_notes", NOTE, ENT_IN_PRIVATE}};
    assert_int_equal(tnodes_open_obj(TNODES(&a, &b), 1, "lead", in, 4, id), 0);
    assert_int_equal(tnode_join(&a, &b, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    assert_true(shows(&b, id, MAIL));

    /* a member that is not the owner may not erase */
    assert_int_equal(
        ent_obj_erase(b.eng, id, "contact_name", &op, err, sizeof(err)),
        ENT_EDENIED);
    assert_non_null(strstr(err, "owner"));
    /* nor may a forged erase op of b count anywhere: a refuses it */
    {
        uint8_t key[32];
        ent_op_header h;
        assert_int_equal(tstore_epoch_key(b.store, id, 0, key), ENT_OK);
        assert_int_equal(tstore_heads(b.store, id, &h), ENT_OK);
        ent_op_body fb = {.kind = ENT_OP_ERASE, .nerased = 1};
        strcpy(fb.field, "contact_email");
        fb.erased = h.parents[0];
        ent_op *f = tforge(b.id, id, &fb, 1, h.hlc + 1, 0,
                           (const uint8_t(*)[32])h.parents, h.nparents, key);
        assert_non_null(f);
        const uint8_t *fr = f->raw;
        size_t fl = f->rawlen;
        int frc[1];
        assert_int_equal(ent_obj_apply_batch(a.eng, &fr, &fl, 1, NULL, frc),
                         ENT_OK);
        assert_int_equal(frc[0], ENT_EDENIED);
        assert_true(shows(&a, id, MAIL));
        ent_op_free(f);
    }
    /* a field nothing writes */
    assert_int_equal(ent_obj_erase(a.eng, id, "need", &op, err, sizeof(err)),
                     ENT_ENOENT);

    /* one field: gone on the owner and, once it applies the op, on b */
    assert_int_equal(
        ent_obj_erase(a.eng, id, "contact_email", &op, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(op->h.kind, ENT_OP_ERASE);
    const uint8_t *raw = op->raw;
    size_t rlen = op->rawlen;
    int rcs[1];
    assert_int_equal(ent_obj_apply_batch(b.eng, &raw, &rlen, 1, NULL, rcs),
                     ENT_OK);
    assert_int_equal(rcs[0], ENT_OK);
    ent_op_free(op);
    for (tnode *n = &a; n != NULL; n = n == &a ? &b : NULL) {
        assert_false(shows(n, id, MAIL));
        assert_true(shows(n, id, NAME));
        assert_true(shows(n, id, "Initech"));
        assert_false(file_has(n->dir, MAIL));
    }
    assert_true(file_has(a.dir, NAME)); /* the grep looks where values are */
    ent_obj_erasure *er = NULL;
    size_t ner = 0;
    assert_int_equal(ent_obj_erasures(b.eng, id, &er, &ner), ENT_OK);
    assert_int_equal(ner, 1);
    assert_string_equal(er[0].field, "contact_email");
    assert_memory_equal(er[0].by, tnode_pk(&a), 32);
    free(er);

    /* the whole object */
    assert_int_equal(ent_obj_erase(a.eng, id, NULL, &op, err, sizeof(err)),
                     ENT_OK);
    raw = op->raw;
    rlen = op->rawlen;
    assert_int_equal(ent_obj_apply_batch(b.eng, &raw, &rlen, 1, NULL, rcs),
                     ENT_OK);
    assert_int_equal(rcs[0], ENT_OK);
    ent_op_free(op);
    for (tnode *n = &a; n != NULL; n = n == &a ? &b : NULL) {
        assert_false(shows(n, id, NAME));
        assert_false(shows(n, id, "Initech"));
        assert_false(shows(n, id, NOTE));
        assert_false(file_has(n->dir, MAIL));
        assert_false(file_has(n->dir, NAME));
        assert_false(file_has(n->dir, NOTE));
        assert_false(file_has(n->dir, "Initech"));
        /* no op body left to serve: only the two erase ops */
        tops t = tnode_ops(n, id);
        for (size_t i = 0; i < t.n; i++) {
            ent_op *o = NULL;
            assert_int_equal(ent_op_decode(&o, t.raw[i], t.len[i]), ENT_OK);
            assert_int_equal(o->h.kind, ENT_OP_ERASE);
            ent_op_free(o);
        }
        assert_int_equal(t.n, 2);
        tops_free(&t);
    }
    /* no key left: the owner can change nothing any more */
    ent_obj_input set = {"company", "Again", ENT_IN_SHARED};
    assert_int_not_equal(
        ent_obj_set(a.eng, id, &set, 1, NULL, err, sizeof(err)), ENT_OK);
    tnodes_close(TNODES(&a, &b));
}

static int last_ev_fn(ent_txn *txn, void *data) {
    return ent_events_last(txn, data);
}

struct evlist {
    uint64_t ids[64];
    size_t n;
};

static int ev_cb(void *data, const ent_event *ev) {
    struct evlist *l = data;
    if (l->n < 64)
        l->ids[l->n++] = ev->id;
    return 0;
}

static int read_ev_fn(ent_txn *txn, void *data) {
    return ent_events_read(txn, 0, 0, ev_cb, data);
}

/* An erasure drops the object's events, the newest included: the newest
 * one's row stays, empty, so its id is never given again (a webhook's or
 * a stream's cursor past it would miss the next event); readers pass
 * over the empty row. */
static void test_erase_keeps_event_ids(void **state) {
    (void)state;
    tnode a;
    uint8_t id[32], id2[32];
    char err[256];
    ent_op *op = NULL;
    uint64_t before = 0, after = 0;
    const ent_obj_input in[] = {{"company", "Initech", ENT_IN_SHARED},
                                {"internal_notes", NOTE, ENT_IN_PRIVATE}};
    assert_int_equal(tnode_open(&a, 3), 0);
    assert_int_equal(
        ent_obj_create(a.eng, "lead", in, 2, id, NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_store_read(a.store, last_ev_fn, &before), ENT_OK);
    assert_true(before > 0);
    assert_int_equal(ent_obj_erase(a.eng, id, NULL, &op, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(op);
    assert_false(file_has(a.dir, NOTE));
    assert_int_equal(ent_store_read(a.store, last_ev_fn, &after), ENT_OK);
    assert_true(after >= before);
    /* the next event takes a new id */
    const ent_obj_input in2[] = {{"company", "Globex", ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(a.eng, "lead", in2, 1, id2, NULL, err, sizeof(err)),
        ENT_OK);
    struct evlist l = {.n = 0};
    assert_int_equal(ent_store_read(a.store, read_ev_fn, &l), ENT_OK);
    assert_true(l.n > 0);
    assert_true(l.ids[l.n - 1] > before);
    for (size_t i = 1; i < l.n; i++)
        assert_true(l.ids[i] > l.ids[i - 1]);
    tnode_close(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erase_body_codec),
        cmocka_unit_test(test_erased_record_codec),
        cmocka_unit_test(test_erase_field_and_object),
        cmocka_unit_test(test_erase_keeps_event_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
