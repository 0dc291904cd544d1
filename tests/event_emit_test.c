/*
 * event_emit_test.c - the events the object engine raises (spec/events.md
 * section 3), each in the transaction of its change: a create with private
 * values, a set, a stage move, a comment, a refused change (no event), a
 * member joining, changing role and being removed (with key.rotated), the
 * same changes arriving at a partner (org the author, user null), a field
 * write that loses to a later one (not reported), an equivocation, the
 * approval helper, and ids in commit order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/events/event.h"
#include "object_fixture.h"

#define MAXEV 64

/* The events of a store, as the API shows them. */
typedef struct evs {
    json_t *v[MAXEV];
    size_t n;
} evs;

static int grab(void *data, const ent_event *ev) {
    evs *e = data;
    if (e->n < MAXEV)
        e->v[e->n++] = ent_event_json(ev);
    return 0;
}

struct rd {
    uint64_t after;
    evs *e;
};

static int read_fn(ent_txn *txn, void *data) {
    struct rd *r = data;
    return ent_events_read(txn, r->after, 0, grab, r->e);
}

static void evs_free(evs *e) {
    for (size_t i = 0; i < e->n; i++)
        json_decref(e->v[i]);
    e->n = 0;
}

/* The events after id `after` of n, into e (freed first). */
static void events(tnode *n, uint64_t after, evs *e) {
    evs_free(e);
    struct rd r = {after, e};
    assert_int_equal(ent_store_read(n->store, read_fn, &r), ENT_OK);
}

static const char *kind(const evs *e, size_t i) {
    return json_string_value(json_object_get(e->v[i], "kind"));
}

static const char *str(const json_t *o, const char *a, const char *b) {
    const json_t *x = json_object_get(o, a);
    if (b != NULL)
        x = json_object_get(x, b);
    return json_string_value(x);
}

static const json_t *data(const evs *e, size_t i) {
    return json_object_get(e->v[i], "data");
}

/* Every stored event of n is the text jansson writes for it: parsed
 * (member order kept) and written again by json_dumps(JSON_COMPACT), the
 * same bytes. *count (may be NULL) gets the events seen. */
static int canonical_one(void *data, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    (void)key;
    (void)klen;
    json_t *j = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, NULL);
    char *again = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    int ok = again != NULL && strlen(again) == vlen &&
             memcmp(again, val, vlen) == 0;
    if (!ok)
        fprintf(stderr, "stored: %.*s\njansson: %s\n", (int)vlen,
                (const char *)val, again ? again : "(none)");
    free(again);
    json_decref(j);
    (*(size_t *)data)++;
    return ok ? 0 : ENT_ECORRUPT;
}

static void assert_canonical(tnode *n) {
    size_t count = 0;
    assert_int_equal(
        tstore_scan(n->store, ENT_TBL_EVENTS, NULL, 0, canonical_one, &count),
        ENT_OK);
    assert_true(count > 0);
}

/* The names of o's members, in order, joined by ','. */
static void assert_members(const json_t *o, const char *want) {
    char got[256] = "";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (got[0] != '\0')
            strcat(got, ",");
        strcat(got, k);
    }
    assert_string_equal(got, want);
}

static void local_changes(void **state) {
    (void)state;
    tnode a;
    evs e = {0};
    uint8_t id[32];
    char err[256], hex[65];
    ent_op *op = NULL;
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(tnode_open(&a, 1), 0);
    ent_obj_set_actor(a.eng, "ana");
    ent_obj_input in[] = {{"name", "Deal", ENT_IN_SHARED},
                          {"deal_size", "1200.00 EUR", ENT_IN_PRIVATE}};
    assert_int_equal(
        ent_obj_create(a.eng, "opportunity", in, 2, id, &op, err, sizeof(err)),
        ENT_OK);
    ent_hex_encode(hex, id, 32);
    events(&a, 0, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(kind(&e, 0), "object.created");
    assert_string_equal(str(e.v[0], "object", NULL), hex);
    assert_string_equal(str(e.v[0], "user", NULL), "ana");
    assert_string_equal(str(data(&e, 0), "type", NULL), "opportunity");
    assert_string_equal(str(data(&e, 0), "shared", "name"), "Deal");
    assert_string_equal(str(data(&e, 0), "op", NULL), hex);
    assert_null(json_object_get(data(&e, 0), "private"));
    assert_string_equal(kind(&e, 1), "private.changed");
    assert_non_null(
        json_object_get(json_object_get(data(&e, 1), "private"), "deal_size"));
    assert_true(json_is_null(json_object_get(e.v[1], "org")));
    assert_int_equal(json_integer_value(json_object_get(e.v[1], "id")), 2);
    ent_op_free(op);

    /* a set of shared and private fields: two events, one transaction */
    ent_obj_set_actor(a.eng, NULL);
    ent_obj_input s1[] = {{"next_step", "call", ENT_IN_SHARED},
                          {"deal_size", "1300.00 EUR", ENT_IN_PRIVATE}};
    assert_int_equal(ent_obj_set(a.eng, id, s1, 2, NULL, err, sizeof(err)),
                     ENT_OK);
    events(&a, 2, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(kind(&e, 0), "fields.changed");
    assert_string_equal(str(data(&e, 0), "shared", "next_step"), "call");
    assert_true(json_is_null(json_object_get(e.v[0], "user")));
    assert_null(json_object_get(data(&e, 0), "stage"));
    assert_string_equal(kind(&e, 1), "private.changed");

    /* a refused change leaves no event (the transaction aborts) */
    ent_obj_input bad[] = {{"close_date", "not a date", ENT_IN_SHARED}};
    assert_int_not_equal(ent_obj_set(a.eng, id, bad, 1, NULL, err, sizeof(err)),
                         ENT_OK);
    events(&a, 4, &e);
    assert_int_equal(e.n, 0);

    /* stage and comment */
    ent_obj_set_actor(a.eng, "bo");
    assert_int_equal(
        ent_obj_stage(a.eng, id, "qualification", NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(
        ent_obj_comment(a.eng, id, "hello", NULL, err, sizeof(err)), ENT_OK);
    events(&a, 4, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(kind(&e, 0), "fields.changed");
    assert_string_equal(str(data(&e, 0), "stage", NULL), "Qualification");
    assert_string_equal(str(data(&e, 0), "shared", "stage"), "Qualification");
    assert_string_equal(str(e.v[0], "user", NULL), "bo");
    assert_string_equal(kind(&e, 1), "comment.added");
    assert_string_equal(str(data(&e, 1), "text", NULL), "hello");
    evs_free(&e);
    assert_canonical(&a);
    tnode_close(&a);
}

static void membership_and_partner(void **state) {
    (void)state;
    tnode a, b, c;
    evs e = {0};
    uint8_t id[32];
    char err[256], borg[ENT_ORG_ID_LEN + 1], aorg[ENT_ORG_ID_LEN + 1];
    ent_obj_input in[] = {{"name", "Deal", ENT_IN_SHARED}};
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(
        tnodes_open_obj(TNODES(&a, &b, &c), 1, "opportunity", in, 1, id), 0);
    ent_org_id_format(borg, tnode_pk(&b));
    ent_org_id_format(aorg, tnode_pk(&a));
    ent_obj_set_actor(a.eng, "ana");
    assert_int_equal(tnode_join(&a, &b, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    events(&a, 1, &e);
    assert_int_equal(e.n, 1);
    assert_string_equal(kind(&e, 0), "member.joined");
    assert_string_equal(str(data(&e, 0), "member", NULL), borg);
    assert_string_equal(str(data(&e, 0), "role", NULL), "member");
    assert_string_equal(str(e.v[0], "user", NULL), "ana");
    assert_string_equal(str(e.v[0], "org", NULL), aorg);

    /* B got the history: created and its own joining, from A, no user */
    events(&b, 0, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(kind(&e, 0), "object.created");
    assert_string_equal(kind(&e, 1), "member.joined");
    for (size_t i = 0; i < e.n; i++) {
        assert_true(json_is_null(json_object_get(e.v[i], "user")));
        assert_string_equal(str(e.v[i], "org", NULL), aorg);
    }

    /* a role change, then a removal with its new epoch */
    ent_op *op = NULL, *rm = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nb = 0;
    assert_int_equal(ent_obj_add_member(a.eng, id, tnode_pk(&b), ENT_ROLE_ADMIN,
                                        &op, &boxes, &nb),
                     ENT_OK);
    free(boxes);
    events(&a, 2, &e);
    assert_int_equal(e.n, 1);
    assert_string_equal(kind(&e, 0), "member.role_changed");
    assert_string_equal(str(data(&e, 0), "role", NULL), "admin");
    assert_string_equal(str(data(&e, 0), "from", NULL), "member");
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&b), &rm),
                     ENT_OK);
    events(&a, 3, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(kind(&e, 0), "key.rotated");
    assert_int_equal(json_integer_value(json_object_get(data(&e, 0), "epoch")),
                     1);
    assert_string_equal(kind(&e, 1), "member.left");
    assert_string_equal(str(data(&e, 1), "how", NULL), "removed");
    assert_string_equal(str(data(&e, 1), "role", NULL), "admin");

    /* B applies A's set: fields.changed with org A, user null */
    ent_obj_set_actor(a.eng, NULL);
    ent_op_free(op);
    ent_op_free(rm);
    evs_free(&e);
    (void)err;
    assert_canonical(&a);
    assert_canonical(&b);
    tnodes_close(TNODES(&a, &b, &c));
}

/* A partner's write that loses to a later local one is not reported as a
 * change; the later one is. */
static void losing_write(void **state) {
    (void)state;
    tnode a, b;
    evs e = {0};
    uint8_t id[32];
    char err[256];
    uint64_t last = 0;
    ent_obj_input in[] = {{"name", "Deal", ENT_IN_SHARED}};
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(
        tnodes_open_obj(TNODES(&a, &b), 1, "opportunity", in, 1, id), 0);
    assert_int_equal(tnode_join(&a, &b, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    ent_op *early = NULL;
    ent_obj_input s1[] = {{"next_step", "early", ENT_IN_SHARED}};
    assert_int_equal(ent_obj_set(b.eng, id, s1, 1, &early, err, sizeof(err)),
                     ENT_OK);
    a.now += 60000; /* A writes later, without B's op */
    ent_obj_input s2[] = {{"next_step", "late", ENT_IN_SHARED}};
    assert_int_equal(ent_obj_set(a.eng, id, s2, 1, NULL, err, sizeof(err)),
                     ENT_OK);
    events(&a, 0, &e);
    last = json_integer_value(json_object_get(e.v[e.n - 1], "id"));
    assert_string_equal(kind(&e, e.n - 1), "fields.changed");
    assert_int_equal(ent_obj_apply(a.eng, early->raw, early->rawlen, NULL),
                     ENT_OK);
    events(&a, last, &e);
    assert_int_equal(e.n, 0); /* applied, but "late" still holds */

    /* B gets A's write: a change from a partner, no user */
    char aorg[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(aorg, tnode_pk(&a));
    events(&b, 0, &e);
    size_t before = e.n;
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    events(&b, 0, &e);
    assert_int_equal(e.n, before + 1);
    assert_string_equal(kind(&e, e.n - 1), "fields.changed");
    assert_string_equal(str(data(&e, e.n - 1), "shared", "next_step"), "late");
    assert_string_equal(str(e.v[e.n - 1], "org", NULL), aorg);
    assert_true(json_is_null(json_object_get(e.v[e.n - 1], "user")));

    /* B signs a second op with the same seq: A detects the fork */
    uint8_t key[32];
    assert_int_equal(tstore_epoch_key(b.store, id, 0, key), ENT_OK);
    ent_op_field f = tfield_text("next_step", "forked", false);
    ent_op *twin = tforge_set(b.id, id, &f, early->h.seq, early->h.hlc + 1, 0,
                              (const uint8_t(*)[32])early->h.parents,
                              early->h.nparents, key);
    assert_non_null(twin);
    assert_int_equal(ent_obj_apply(a.eng, twin->raw, twin->rawlen, NULL),
                     ENT_OK);
    events(&a, last, &e);
    assert_true(e.n >= 1);
    assert_string_equal(kind(&e, 0), "equivocation.detected");
    char borg[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(borg, tnode_pk(&b));
    assert_string_equal(str(data(&e, 0), "author", NULL), borg);
    assert_int_equal(json_integer_value(json_object_get(data(&e, 0), "seq")),
                     (json_int_t)early->h.seq);
    ent_op_free(twin);
    ent_op_free(early);
    evs_free(&e);
    tnodes_close(TNODES(&a, &b));
}

struct appr {
    uint8_t obj[32];
    uint64_t id;
};

static int appr_fn(ent_txn *txn, void *data) {
    struct appr *p = data;
    int rc = ent_events_approval(txn, false, p->obj, NULL, "ana", "discount",
                                 "Proposal", NULL, 1700000000000ull, &p->id);
    if (rc == ENT_OK)
        rc = ent_events_approval(txn, true, p->obj, p->obj, NULL, "discount",
                                 NULL, "approved", 1700000000001ull, &p->id);
    if (rc == ENT_OK && ent_events_approval(txn, true, p->obj, NULL, NULL, "",
                                            NULL, NULL, 1, NULL) != ENT_EINVAL)
        rc = ENT_EPROTO;
    return rc;
}

static void approvals(void **state) {
    (void)state;
    tnode a;
    evs e = {0};
    struct appr p;
    assert_int_equal(tnode_open(&a, 3), 0);
    memset(p.obj, 0x11, 32);
    assert_int_equal(ent_store_write(a.store, appr_fn, &p), ENT_OK);
    assert_int_equal(p.id, 2);
    events(&a, 0, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(kind(&e, 0), "approval.requested");
    assert_string_equal(str(data(&e, 0), "approval", NULL), "discount");
    assert_string_equal(str(data(&e, 0), "stage", NULL), "Proposal");
    assert_string_equal(str(e.v[0], "user", NULL), "ana");
    assert_string_equal(kind(&e, 1), "approval.given");
    assert_string_equal(str(data(&e, 1), "decision", NULL), "approved");
    evs_free(&e);
    tnode_close(&a);
}

/* The stored text of an object's events with values of every kind the
 * template has, strings full of escapes: jansson's bytes, members in the
 * order spec/events.md §3 gives. */
static void stored_text(void **state) {
    (void)state;
    tnode a;
    evs e = {0};
    uint8_t id[32];
    char err[256];
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(tnode_open(&a, 4), 0);
    ent_obj_set_actor(a.eng, "ana \"a\" \\ \xc3\xa9");
    ent_obj_input in[] = {
        {"name", "Acme \"A\" \\ /slash\ttab \xc3\xa9\xe2\x82\xac", ENT_IN_SHARED},
        {"customer_account", "0123456789abcdef0123456789abcdef",
         ENT_IN_SHARED},
        {"stage", "qualification", ENT_IN_SHARED},
        {"close_date", "2026-03-31", ENT_IN_SHARED},
        {"influenced_by", "Some \"Partner\"", ENT_IN_SHARED},
        {"deal_size", "-1234.5 EUR", ENT_IN_PRIVATE},
        {"internal_notes", "say \"hi\"\t\\ \xf0\x9d\x84\x9e", ENT_IN_PRIVATE}};
    assert_int_equal(ent_obj_create(a.eng, "opportunity", in, 7, id, NULL,
                                     err, sizeof(err)),
                     ENT_OK);
    ent_obj_input s1[] = {{"stage", "Proposal", ENT_IN_SHARED},
                          {"close_date", "0001-01-01", ENT_IN_SHARED},
                          {"deal_size", "7 JPY", ENT_IN_PRIVATE}};
    assert_int_equal(ent_obj_set(a.eng, id, s1, 3, NULL, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(
        ent_obj_stage(a.eng, id, "negotiation", NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_obj_comment(a.eng, id, "\"quoted\" \\ \xc3\xa9\t.",
                                     NULL, err, sizeof(err)),
                     ENT_OK);
    assert_canonical(&a);
    events(&a, 0, &e);
    assert_int_equal(e.n, 6);
    assert_string_equal(kind(&e, 0), "object.created");
    assert_members(data(&e, 0), "op,type,shared");
    assert_string_equal(str(data(&e, 0), "shared", "name"),
                        "Acme \"A\" \\ /slash\ttab \xc3\xa9\xe2\x82\xac");
    assert_string_equal(kind(&e, 1), "private.changed");
    assert_members(data(&e, 1), "private");
    assert_members(json_object_get(data(&e, 1), "private"),
                   "deal_size,internal_notes");
    assert_members(json_object_get(json_object_get(data(&e, 1), "private"),
                                   "deal_size"),
                   "amount,currency,minor");
    assert_string_equal(kind(&e, 2), "fields.changed");
    assert_members(data(&e, 2), "op,stage,shared");
    assert_string_equal(str(data(&e, 2), "stage", NULL), "Proposal");
    assert_string_equal(kind(&e, 3), "private.changed");
    assert_string_equal(kind(&e, 4), "fields.changed");
    assert_members(data(&e, 4), "op,stage,shared");
    assert_string_equal(str(data(&e, 4), "shared", "stage"), "Negotiation");
    assert_string_equal(kind(&e, 5), "comment.added");
    assert_members(data(&e, 5), "op,text");
    evs_free(&e);
    tnode_close(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_changes),
        cmocka_unit_test(membership_and_partner),
        cmocka_unit_test(losing_write),
        cmocka_unit_test(approvals),
        cmocka_unit_test(stored_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
