/*
 * access_events_test.c - the policy view of events (node/access/
 * access_events.h): a table of readers (operator, admin, an EMEA rep, an
 * APAC rep, finance, a user no rule names, a rep whose token lacks "read")
 * by events (shared and private changes on an EMEA and an APAC object, a
 * creation, a node-wide event), checking who sees which event and that a
 * canary value never appears in the view of a reader denied its field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/access/access.h"
#include "node/access/access_events.h"
#include "node/events/event.h"
#include "object_fixture.h"

#define CANARY "7777123.45 EUR"
#define CANARY2 "CANARY-MEMO-5521"

enum { R_OP, R_ADMIN, R_EMEA, R_APAC, R_FIN, R_NOBODY, R_NOREAD, R__N };
enum { E_CREATED, E_SHARED, E_DEAL, E_MEMO, E_APAC, E_NODE, E__N };

struct fx {
    tnode n;
    uint8_t emea[32], apac[32];
    ent_principal who[R__N];
};

static void mkobj(struct fx *f, const char *region, uint8_t id[32]) {
    ent_obj_input in[] = {{"name", "Deal", ENT_IN_SHARED},
                          {"region", region, ENT_IN_SHARED},
                          {"deal_size", CANARY, ENT_IN_PRIVATE},
                          {"memo", CANARY2, ENT_IN_PRIVATE}};
    char err[256];
    assert_int_equal(ent_obj_create(f->n.eng, "opportunity", in, 4, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
}

static void user(struct fx *f, const char *name, const char *role,
                 const char *region, ent_principal *p) {
    ent_pwhash_cost cost;
    char err[256];
    const char *rk[] = {"region"}, *rv[] = {region};
    ent_user_spec u = {.name = name,
                       .role = role,
                       .set_keys = rk,
                       .set_vals = rv,
                       .nset = region != NULL,
                       .disabled = -1};
    ent_pwhash_cost_min(&cost);
    assert_int_equal(
        ent_access_user_add(f->n.store, &u, &cost, 1, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_access_principal(f->n.store, name, p), ENT_OK);
}

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    uint32_t rid;
    char err[256];
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(tnode_open(&f->n, 7), 0);
    mkobj(f, "EMEA", f->emea);
    mkobj(f, "APAC", f->apac);
    static const char *const rules[] = {
        "allow role=rep read,change opportunity where region=$user.region",
        "deny role=rep read opportunity.deal_size",
        "deny role=rep read opportunity.memo",
        "allow role=finance read opportunity",
        "deny role=finance read opportunity.memo",
        "allow role=finance log *",
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        assert_int_equal(
            ent_access_policy_add(f->n.store, rules[i], &rid, err, sizeof(err)),
            ENT_OK);
    ent_principal_operator(&f->who[R_OP]);
    user(f, "boss", "admin", NULL, &f->who[R_ADMIN]);
    user(f, "ana", "rep", "EMEA", &f->who[R_EMEA]);
    user(f, "bo", "rep", "APAC", &f->who[R_APAC]);
    user(f, "fin", "finance", NULL, &f->who[R_FIN]);
    user(f, "nobody", "intern", NULL, &f->who[R_NOBODY]);
    user(f, "ro", "rep", "EMEA", &f->who[R_NOREAD]);
    f->who[R_NOREAD].scopes = ENT_ACT_CHANGE; /* a token without read */
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    tnode_close(&f->n);
    free(f);
    return 0;
}

/* The events of the table, built in memory (the view needs no stored
 * event: it reads policies and the object in the transaction). */
static void build(struct fx *f, ent_event ev[E__N], json_t *data[E__N]) {
    data[E_CREATED] =
        json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s}}", "type", "opportunity",
                  "shared", "name", "Deal", "region", "EMEA", "private",
                  "deal_size", CANARY, "memo", CANARY2);
    data[E_SHARED] = json_pack("{s:{s:s},s:s}", "shared", "next_step", "call",
                               "stage", "Won");
    data[E_DEAL] = json_pack("{s:{s:s}}", "private", "deal_size", CANARY);
    data[E_MEMO] = json_pack("{s:{s:s,s:s}}", "private", "memo", CANARY2,
                             "deal_size", CANARY);
    data[E_APAC] = json_pack("{s:{s:s}}", "shared", "next_step", "demo");
    data[E_NODE] = json_pack("{s:s}", "note", "node-wide");
    static const char *const kinds[E__N] = {
        "object.created",  "fields.changed", "private.changed",
        "private.changed", "fields.changed", "test.node"};
    for (int i = 0; i < E__N; i++) {
        memset(&ev[i], 0, sizeof(ev[i]));
        ev[i].id = (uint64_t)i + 1;
        ev[i].time_ms = 1700000000000ull;
        ev[i].kind = kinds[i];
        ev[i].data = data[i];
        ev[i].has_object = i != E_NODE;
        memcpy(ev[i].object, i == E_APAC ? f->apac : f->emea, 32);
    }
}

struct view_ctx {
    const ent_principal *who;
    const ent_event *ev;
    json_t *out;
};

static int view_fn(ent_txn *txn, void *data) {
    struct view_ctx *c = data;
    return ent_access_event_view(txn, c->who, c->ev, &c->out);
}

/* 1: shown (with what the columns below say), 0: left out. */
static const int seen[R__N][E__N] = {
    /*            created shared deal memo apac node */
    [R_OP] = {1, 1, 1, 1, 1, 1},     [R_ADMIN] = {1, 1, 1, 1, 1, 1},
    [R_EMEA] = {1, 1, 0, 0, 0, 0},   [R_APAC] = {0, 0, 0, 0, 1, 0},
    [R_FIN] = {1, 1, 1, 1, 1, 1},    [R_NOBODY] = {0, 0, 0, 0, 0, 0},
    [R_NOREAD] = {0, 0, 0, 0, 0, 0},
};
/* May the reader read deal_size / memo? */
static const int deal_ok[R__N] = {1, 1, 0, 0, 1, 0, 0};
static const int memo_ok[R__N] = {1, 1, 0, 0, 0, 0, 0};

static void users_by_events(void **state) {
    struct fx *f = *state;
    ent_event ev[E__N];
    json_t *data[E__N];
    build(f, ev, data);
    for (int r = 0; r < R__N; r++) {
        for (int e = 0; e < E__N; e++) {
            struct view_ctx c = {&f->who[r], &ev[e], NULL};
            assert_int_equal(ent_store_read(f->n.store, view_fn, &c), ENT_OK);
            if (!seen[r][e]) {
                if (c.out != NULL)
                    fail_msg("reader %d sees event %d", r, e);
                continue;
            }
            if (c.out == NULL)
                fail_msg("reader %d does not see event %d", r, e);
            char *s = json_dumps(c.out, JSON_COMPACT);
            assert_non_null(s);
            if (!deal_ok[r] && strstr(s, CANARY) != NULL)
                fail_msg("reader %d sees deal_size in %s", r, s);
            if (!memo_ok[r] && strstr(s, CANARY2) != NULL)
                fail_msg("reader %d sees memo in %s", r, s);
            if (deal_ok[r] && (e == E_DEAL || e == E_CREATED))
                assert_non_null(strstr(s, CANARY));
            if (memo_ok[r] && e == E_MEMO)
                assert_non_null(strstr(s, CANARY2));
            json_t *d = json_object_get(c.out, "data");
            assert_int_equal(json_integer_value(json_object_get(c.out, "id")),
                             e + 1);
            assert_string_equal(
                json_string_value(json_object_get(c.out, "kind")), ev[e].kind);
            if (e == E_CREATED) /* the readable fields stay */
                assert_string_equal(json_string_value(json_object_get(
                                        json_object_get(d, "shared"), "name")),
                                    "Deal");
            if (e == E_SHARED)
                assert_string_equal(
                    json_string_value(json_object_get(d, "stage")), "Won");
            free(s);
            json_decref(c.out);
        }
    }
    for (int e = 0; e < E__N; e++)
        json_decref(data[e]);
}

/* A field rule on stage takes "stage" out of the data too, and a change
 * event with nothing left is left out. */
static void stage_denied(void **state) {
    struct fx *f = *state;
    uint32_t rid;
    char err[256];
    assert_int_equal(ent_access_policy_add(f->n.store,
                                           "deny role=rep read "
                                           "opportunity.stage",
                                           &rid, err, sizeof(err)),
                     ENT_OK);
    json_t *d =
        json_pack("{s:{s:s},s:s}", "shared", "stage", "Won", "stage", "Won");
    ent_event ev = {
        .id = 9, .kind = "fields.changed", .has_object = true, .data = d};
    memcpy(ev.object, f->emea, 32);
    struct view_ctx c = {&f->who[R_EMEA], &ev, NULL};
    assert_int_equal(ent_store_read(f->n.store, view_fn, &c), ENT_OK);
    assert_null(c.out);
    c.who = &f->who[R_FIN];
    assert_int_equal(ent_store_read(f->n.store, view_fn, &c), ENT_OK);
    assert_non_null(c.out);
    json_decref(c.out);
    /* an unknown object is shown to nobody but the operator */
    memset(ev.object, 0x5a, 32);
    c.who = &f->who[R_ADMIN];
    assert_int_equal(ent_store_read(f->n.store, view_fn, &c), ENT_OK);
    assert_null(c.out);
    c.who = &f->who[R_OP];
    assert_int_equal(ent_store_read(f->n.store, view_fn, &c), ENT_OK);
    assert_non_null(c.out);
    json_decref(c.out);
    json_decref(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(users_by_events, setup, teardown),
        cmocka_unit_test_setup_teardown(stage_denied, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
