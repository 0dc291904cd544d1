/*
 * dealreg_test.c - deal registration with conflict detection
 * (spec/workflows.md §9): the matching key and its score (table-driven),
 * then four in-process nodes with the built-in templates: the vendor V
 * owns a program and an opportunity; partners P1 and P2, members of the
 * program, register deals with V; A, an agency, is a member of P1's
 * registration but not V's approver. It checks:
 *
 *  - V sees the conflicts with its own opportunity and with the earlier
 *    registration, with scores;
 *  - who registered first comes from V's activity log: P2's registration,
 *    signed with a forged early clock (an HLC below P1's), is still the
 *    later one;
 *  - at most one approved, unexpired registration per account and
 *    solution: V's second approval is refused naming the first, and
 *    accepted once the first has expired;
 *  - P1 approving its own registration, and A approving it, count for
 *    nothing (by their engines and by hand-signed ops);
 *  - approval.requested is raised on V when the registration lands on
 *    Submitted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "node/events/event.h"
#include "node/objects/value.h"
#include "node/work/dealreg.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

#define DAY 86400000ULL

/* ------------------------------------------------------------- matching */

static ent_dr_key key(const char *name, const char *dom, const char *sol) {
    ent_dr_key k;
    ent_dr_key_make(&k, name, name ? strlen(name) : 0, dom,
                    dom ? strlen(dom) : 0, sol, sol ? strlen(sol) : 0);
    return k;
}

static void test_score(void **state) {
    (void)state;
    static const struct {
        const char *n1, *d1, *n2, *d2;
        unsigned lo, hi;
        ent_dr_match m;
    } cases[] = {
        {"Acme", "https://www.acme.com/about", "Other", "acme.com", 100, 100,
         ENT_DR_DOMAIN},
        {"Acme", "shop.acme.co.uk", "Acme", "acme.co.uk", 100, 100,
         ENT_DR_DOMAIN},
        {"Acme, Inc.", NULL, "ACME", "acme.de", 90, 90, ENT_DR_NAME},
        {"Acme GmbH", "acme.de", "acme", "acme.com", 90, 90, ENT_DR_NAME},
        {"Acme", NULL, "Acme Robotics", NULL, 75, 75, ENT_DR_WORDS},
        {"Robotics Acme", NULL, "Acme Robotics", NULL, 75, 75, ENT_DR_WORDS},
        {"Acme Robotics", NULL, "Acme Robotix", NULL, 50, 79, ENT_DR_SIMILAR},
        {"Globex", NULL, "Initech", NULL, 0, 49, ENT_DR_NONE},
        {NULL, NULL, NULL, NULL, 0, 0, ENT_DR_NONE},
        {"", "", "", "", 0, 0, ENT_DR_NONE},
        {"Acme", "not a domain!", "Zeta", "not a domain!", 0, 49, ENT_DR_NONE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        ent_dr_key a = key(cases[i].n1, cases[i].d1, "x"),
                   b = key(cases[i].n2, cases[i].d2, "x");
        ent_dr_match m, m2;
        unsigned s = ent_dr_score(&a, &b, &m);
        unsigned s2 = ent_dr_score(&b, &a, &m2);
        if (s < cases[i].lo || s > cases[i].hi || s != s2 || m != m2 ||
            (cases[i].m != ENT_DR_NONE && m != cases[i].m) ||
            (cases[i].m == ENT_DR_NONE && m == ENT_DR_DOMAIN))
            fail_msg("case %zu: score %u/%u match %s", i, s, s2,
                     ent_dr_match_name(m));
    }
    ent_dr_key a = key("Acme", NULL, "Cloud  Backup!"),
               b = key("Acme", NULL, "cloud-backup"),
               c = key("Acme", NULL, "Cloud Backup Pro"),
               d = key("Acme", NULL, NULL);
    assert_true(ent_dr_same_solution(&a, &b));
    assert_string_equal(a.solution, "cloud backup");
    assert_false(ent_dr_same_solution(&a, &c));
    assert_false(ent_dr_same_solution(&d, &d)); /* unknown: never */
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ent_dr_key e = key(big, big, big); /* too long: unknown, no crash */
    assert_string_equal(e.solution, "");
}

/* --------------------------------------------------------------- nodes */

typedef struct world {
    tnode v, p1, p2, a;
    uint8_t prog[32], opp[32], r1[32], r2[32];
} world;

/* A registration by p of account/domain/solution under the program,
 * with V (and extra, may be NULL) as members; V holds it. */
static void reg(world *w, tnode *p, uint8_t id[32], const char *account,
                const char *domain, const char *sol, tnode *extra) {
    char err[256], ph[65];
    ent_value_ref_format(ph, w->prog);
    ent_obj_input in[] = {{"program", ph, ENT_IN_SHARED},
                          {"customer_account", account, ENT_IN_SHARED},
                          {"account_domain", domain, ENT_IN_SHARED},
                          {"solution", sol, ENT_IN_SHARED},
                          {"amount", "50000 EUR", ENT_IN_SHARED},
                          {"close_date", "2030-06-30", ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(p->eng, "deal_registration", in, 6, id, NULL, err, 256),
        ENT_OK);
    assert_int_equal(tnode_join(p, &w->v, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    if (extra != NULL)
        assert_int_equal(tnode_join(p, extra, id, ENT_ROLE_MEMBER, NULL, NULL),
                         ENT_OK);
}

static void world_open(world *w) {
    char err[256];
    memset(w, 0, sizeof(*w));
    assert_int_equal(tnodes_open(TNODES(&w->v, &w->p1, &w->p2, &w->a), 61), 0);
    /* every clock far before the first registration's */
    w->v.now = w->p1.now = w->p2.now = w->a.now = 1500000000000ULL;
    ent_obj_input pin[] = {{"name", "Co-sell 2030", ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(w->v.eng, "program", pin, 1, w->prog, NULL, err, 256),
        ENT_OK);
    assert_int_equal(
        tnode_join(&w->v, &w->p1, w->prog, ENT_ROLE_MEMBER, NULL, NULL),
        ENT_OK);
    assert_int_equal(
        tnode_join(&w->v, &w->p2, w->prog, ENT_ROLE_MEMBER, NULL, NULL),
        ENT_OK);
    ent_obj_input oin[] = {{"name", "Acme renewal", ENT_IN_SHARED},
                           {"customer_account", "ACME Inc.", ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(w->v.eng, "opportunity", oin, 2, w->opp, NULL, err, 256),
        ENT_OK);
    /* P1 registers at 1.7e12; P2 later, with its clock forged to 1.6e12
     * (receivers refuse ops from their future, not from their past) */
    w->v.now = w->a.now = 1700000000000ULL + DAY;
    w->p1.now = 1700000000000ULL;
    reg(w, &w->p1, w->r1, "Acme Inc", "acme.com", "Cloud Backup", &w->a);
    w->p2.now = 1600000000000ULL;
    reg(w, &w->p2, w->r2, "ACME", "www.acme.com", "cloud backup", NULL);
}

static void world_close(world *w) {
    tnodes_close(TNODES(&w->v, &w->p1, &w->p2, &w->a));
}

static json_t *regblock(tnode *n, const uint8_t id[32]) {
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    json_t *r = json_incref(json_object_get(j, "registration"));
    json_decref(j);
    return r;
}

static const json_t *conflict(const json_t *r, const uint8_t id[32]) {
    char hex[65];
    size_t i;
    const json_t *c;
    ent_value_ref_format(hex, id);
    json_array_foreach(json_object_get(r, "conflicts"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "object")), hex) == 0)
            return c;
    }
    return NULL;
}

static void stage_is(tnode *n, const uint8_t id[32], const char *want) {
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    const char *s = json_string_value(
        json_object_get(json_object_get(j, "shared"), "stage"));
    if (s == NULL || strcmp(s, want) != 0)
        fail_msg("stage %s, want %s", s ? s : "null", want);
    json_decref(j);
}

static uint64_t hlc_of(tnode *n, const uint8_t id[32]) {
    ent_op_header h;
    assert_int_equal(tstore_heads(n->store, id, &h), ENT_OK);
    return h.hlc;
}

/* V sees both conflicts; the order is the log's, not the clocks'. */
static void test_conflicts_and_order(void **state) {
    (void)state;
    world w;
    world_open(&w);
    /* P2's registration carries the earlier HLC ... */
    assert_true(hlc_of(&w.p2, w.r2) < hlc_of(&w.p1, w.r1));
    json_t *r2 = regblock(&w.v, w.r2), *r1 = regblock(&w.v, w.r1);
    assert_non_null(r2);
    assert_non_null(r1);
    const json_t *c1 = conflict(r2, w.r1), *co = conflict(r2, w.opp);
    assert_non_null(c1);
    assert_non_null(co);
    assert_int_equal(json_integer_value(json_object_get(c1, "score")), 100);
    assert_string_equal(json_string_value(json_object_get(c1, "match")),
                        "domain");
    assert_true(json_is_true(json_object_get(c1, "same_solution")));
    assert_int_equal(json_integer_value(json_object_get(co, "score")), 90);
    assert_string_equal(json_string_value(json_object_get(co, "type")),
                        "opportunity");
    /* ... but V's log recorded P1's first: r1 is earlier, r2 is not */
    assert_true(json_is_true(json_object_get(c1, "earlier")));
    assert_false(json_is_true(json_object_get(conflict(r1, w.r2), "earlier")));
    assert_true(json_integer_value(json_object_get(r1, "log_index")) <
                json_integer_value(json_object_get(r2, "log_index")));
    /* the partners see no registration block: they do not approve */
    assert_null(regblock(&w.p1, w.r1));
    /* the inbox lists both, with their conflicts */
    json_t *in = NULL;
    assert_int_equal(ent_obj_registrations_json(w.v.eng, &in), ENT_OK);
    assert_int_equal(json_array_size(in), 2);
    json_decref(in);
    assert_int_equal(ent_obj_registrations_json(w.p1.eng, &in), ENT_OK);
    assert_int_equal(json_array_size(in), 0);
    json_decref(in);
    json_decref(r1);
    json_decref(r2);
    world_close(&w);
}

static int decide(tnode *n, const uint8_t id[32], bool reject, const char *exp,
                  const char *text, char *err) {
    ent_op *ops[2];
    int rc = ent_obj_decide(n->eng, id, NULL, reject, text, exp, ops, err, 256);
    ent_op_free(ops[0]);
    ent_op_free(ops[1]);
    return rc;
}

/* One approved, unexpired registration per account and solution. */
static void test_one_approved(void **state) {
    (void)state;
    world w;
    char err[256], hex[65];
    world_open(&w);
    assert_int_equal(decide(&w.v, w.r1, false, NULL, NULL, err), ENT_EINVAL);
    assert_int_equal(decide(&w.v, w.r1, false, "2001-01-01", NULL, err),
                     ENT_EDENIED); /* an expiry in the past */
    stage_is(&w.v, w.r1, "Submitted");
    assert_int_equal(decide(&w.v, w.r1, false, "2023-12-31", "ok", err),
                     ENT_OK);
    stage_is(&w.v, w.r1, "Approved");
    w.p1.now = w.v.now;
    tnode_sync(&w.p1, &w.v, w.r1);
    stage_is(&w.p1, w.r1, "Approved");
    /* the second is refused, naming the first, and nothing is made */
    assert_int_equal(decide(&w.v, w.r2, false, "2024-06-30", NULL, err),
                     ENT_EDENIED);
    ent_value_ref_format(hex, w.r1);
    hex[12] = '\0';
    assert_non_null(strstr(err, hex));
    assert_non_null(strstr(err, "at most one approved"));
    json_t *rj = NULL;
    assert_int_equal(ent_obj_rules_json(w.v.eng, w.r2, &rj), ENT_OK);
    assert_int_equal(json_array_size(json_object_get(rj, "decisions")), 0);
    json_decref(rj);
    stage_is(&w.v, w.r2, "Submitted");
    /* another solution for the same account is no conflict of the rule */
    uint8_t r3[32];
    reg(&w, &w.p2, r3, "Acme", "acme.com", "Analytics", NULL);
    assert_int_equal(decide(&w.v, r3, false, "2024-06-30", NULL, err), ENT_OK);
    /* a rejection with its reason */
    assert_int_equal(decide(&w.v, r3, true, NULL, NULL, err), ENT_EINVAL);
    assert_int_equal(decide(&w.v, r3, true, NULL, "customer declined", err),
                     ENT_OK);
    stage_is(&w.v, r3, "Rejected");
    /* after r1 expired, r2 can be approved */
    w.v.now = 1704067200000ULL + DAY; /* 2024-01-02 */
    assert_int_equal(decide(&w.v, w.r2, false, "2024-06-30", NULL, err),
                     ENT_OK);
    stage_is(&w.v, w.r2, "Approved");
    json_t *r1 = regblock(&w.v, w.r1);
    assert_false(json_is_true(json_object_get(r1, "holds")));
    json_decref(r1);
    world_close(&w);
}

static int seq_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    (void)key;
    (void)val;
    (void)vlen;
    if (klen == 72)
        (*(uint64_t *)data)++;
    return 0;
}

/* An op of body b by n on id, made as n's engine makes ops but never
 * judged by it. */
static ent_op *forge(tnode *n, const uint8_t id[32], ent_op_body *b) {
    ent_op_header h;
    uint8_t key[32], pre[64];
    uint64_t seq = 0;
    memcpy(pre, id, 32);
    memcpy(pre + 32, tnode_pk(n), 32);
    assert_int_equal(
        tstore_scan(n->store, ENT_TBL_OPS, pre, 64, seq_scan, &seq), ENT_OK);
    assert_int_equal(tstore_epoch_key(n->store, id, 0, key), ENT_OK);
    assert_int_equal(tstore_heads(n->store, id, &h), ENT_OK);
    ent_op *op =
        tforge(n->id, id, b, seq + 1, h.hlc + 1, 0, h.parents, h.nparents, key);
    assert_non_null(op);
    return op;
}

/* The partner's own approval, and a non-vendor's, count for nothing. */
static void test_hostile(void **state) {
    (void)state;
    world w;
    char err[256];
    world_open(&w);
    tnode_sync(&w.a, &w.v, w.r1);
    /* by the engines */
    assert_int_equal(decide(&w.p1, w.r1, false, "2030-01-01", NULL, err),
                     ENT_EDENIED);
    assert_int_equal(decide(&w.a, w.r1, false, "2030-01-01", NULL, err),
                     ENT_EDENIED);
    assert_int_equal(ent_obj_stage(w.p1.eng, w.r1, "Approved", NULL, err, 256),
                     ENT_EDENIED);
    /* by hand: each signer approves and moves to Approved with an expiry */
    tnode *signers[] = {&w.p1, &w.a};
    for (size_t i = 0; i < 2; i++) {
        ent_op_body b;
        memset(&b, 0, sizeof(b));
        b.kind = ENT_OP_APPROVE;
        strcpy(b.step, "registration");
        ent_op *ap = forge(signers[i], w.r1, &b);
        int rc = ent_obj_apply(signers[i]->eng, ap->raw, ap->rawlen, NULL);
        assert_true(rc == ENT_OK || rc == ENT_EDENIED);
        ent_op_field f[2];
        memset(f, 0, sizeof(f));
        strcpy(f[0].name, "expires");
        f[0].v.type = ENT_VT_DATE;
        f[0].v.u.days = 30000;
        f[1] = tfield_text("stage", "Approved", false);
        f[1].v.type = ENT_VT_ENUM;
        memset(&b, 0, sizeof(b));
        b.kind = ENT_OP_SET;
        b.fields = f;
        b.nfields = 2;
        ent_op *mv = forge(signers[i], w.r1, &b);
        rc = ent_obj_apply(w.v.eng, ap->raw, ap->rawlen, NULL);
        assert_true(rc == ENT_OK || rc == ENT_EDENIED);
        rc = ent_obj_apply(w.v.eng, mv->raw, mv->rawlen, NULL);
        assert_true(rc == ENT_OK || rc == ENT_EDENIED);
        ent_op_free(ap);
        ent_op_free(mv);
        stage_is(&w.v, w.r1, "Submitted");
    }
    /* the vendor still approves it */
    assert_int_equal(decide(&w.v, w.r1, false, "2030-01-01", NULL, err),
                     ENT_OK);
    stage_is(&w.v, w.r1, "Approved");
    world_close(&w);
}

typedef struct ev_ctx {
    size_t requested;
} ev_ctx;

static int ev_fn(void *data, const ent_event *e) {
    ev_ctx *c = data;
    if (strcmp(e->kind, ENT_EV_APPROVAL_REQUESTED) == 0 &&
        strcmp(json_string_value(json_object_get(e->data, "approval")),
               "registration") == 0)
        c->requested++;
    return 0;
}

static int evs_read(ent_txn *txn, void *data) {
    ev_ctx *c = data;
    return ent_events_read(txn, 0, 0, ev_fn, c);
}

/* approval.requested on V when a registration lands on Submitted. */
static void test_requested_event(void **state) {
    (void)state;
    world w;
    ev_ctx c = {0};
    world_open(&w);
    assert_int_equal(ent_store_read(w.v.store, evs_read, &c), ENT_OK);
    assert_int_equal(c.requested, 2); /* r1 and r2 */
    world_close(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_conflicts_and_order),
        cmocka_unit_test(test_one_approved),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_requested_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
