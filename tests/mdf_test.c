/*
 * mdf_test.c - market development funds from request to payment
 * (spec/workflows.md §8) across three in-process nodes with the built-in
 * templates: the vendor V owns a budget; the partner P, a member of the
 * budget, files fund requests that link it, and adds V and an agency A
 * (not a member of the budget). Hostile ops are signed by hand with the
 * real keys:
 *
 *  - P approving its own request (the rules name V, the budget's owner);
 *  - V approving more than was requested, and more than the budget has
 *    left;
 *  - P claiming more than was approved;
 *  - A, not a member of the budget, sees its link as an opaque id, and
 *    nothing of the budget reaches A's database;
 *  - a request whose rules (from P's own template) give P the approval is
 *    counted against no budget;
 *  - budget use (requested, approved, claimed, paid, left) is computed,
 *    equal on V and P, and counts an approval beyond what was left at its
 *    turn (a forged concurrent one) for nothing, whatever the arrival order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

#define CANARY "BUDGET-NAME-CANARY-7f3a"

static int seq_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    (void)key;
    (void)val;
    (void)vlen;
    if (klen == 72)
        (*(uint64_t *)data)++;
    return 0;
}

/* A set of field = money (minor units of EUR) by n's org, made as n's
 * engine makes ops but never judged by it. */
static ent_op *forge_money(tnode *n, const uint8_t id[32], const char *field,
                           int64_t minor) {
    ent_op_header h;
    uint8_t key[32], pre[64];
    uint64_t seq = 0;
    memcpy(pre, id, 32);
    memcpy(pre + 32, tnode_pk(n), 32);
    assert_int_equal(tstore_scan(n->store, ENT_TBL_OPS, pre, 64, seq_scan,
                                 &seq),
                     ENT_OK);
    assert_int_equal(tstore_epoch_key(n->store, id, 0, key), ENT_OK);
    assert_int_equal(tstore_heads(n->store, id, &h), ENT_OK);
    ent_op_field f = tfield_text(field, NULL, false);
    f.v.type = ENT_VT_MONEY;
    f.v.u.money.minor = minor;
    strcpy(f.v.u.money.cur, "EUR");
    ent_op *op = tforge_set(n->id, id, &f, seq + 1, h.hlc + 1, 0, h.parents,
                            h.nparents, key);
    assert_non_null(op);
    return op;
}

static int set1(tnode *n, const uint8_t id[32], const char *f, const char *v,
                char *err) {
    ent_obj_input in = {f, v, ENT_IN_SHARED};
    return ent_obj_set(n->eng, id, &in, 1, NULL, err, 256);
}

static int stage(tnode *n, const uint8_t id[32], const char *s, char *err) {
    return ent_obj_stage(n->eng, id, s, NULL, err, 256);
}

/* The shared field f of id on n as JSON text ("null" when unset). */
static void field_is(tnode *n, const uint8_t id[32], const char *f,
                     const char *want) {
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    json_t *v = json_object_get(json_object_get(j, "shared"), f);
    json_t *a = json_is_object(v) ? json_object_get(v, "amount") : v;
    char *s = a ? json_dumps(a, JSON_ENCODE_ANY) : strdup("null");
    if (strcmp(s, want) != 0)
        fail_msg("%s is %s, want %s", f, s, want);
    free(s);
    json_decref(j);
}

typedef struct use_ctx {
    const uint8_t *me, *budget;
    ent_budget_use u;
} use_ctx;

static int use_fn(ent_txn *txn, void *data) {
    use_ctx *c = data;
    return ent_obj_budget_use(txn, c->me, c->budget, NULL, &c->u, NULL, NULL);
}

static ent_budget_use use_of(tnode *n, const uint8_t budget[32]) {
    use_ctx c = {tnode_pk(n), budget, {0}};
    assert_int_equal(ent_store_read(n->store, use_fn, &c), ENT_OK);
    return c.u;
}

static void assert_use(const ent_budget_use *u, int64_t req, int64_t appr,
                       int64_t claimed, int64_t paid, int64_t left) {
    if (u->requested != req || u->approved != appr || u->claimed != claimed ||
        u->paid != paid || u->left != left)
        fail_msg("use: requested %lld approved %lld claimed %lld paid %lld "
                 "left %lld",
                 (long long)u->requested, (long long)u->approved,
                 (long long)u->claimed, (long long)u->paid,
                 (long long)u->left);
}

typedef struct world {
    tnode v, p, a;
    uint8_t budget[32], r1[32], r2[32];
} world;

/* A request of P against the budget for amount (EUR), with V and A as
 * members, submitted; everyone holds everything. */
static void request(world *w, uint8_t id[32], const char *name,
                    const char *amount) {
    char err[256], bh[65];
    ent_value_ref_format(bh, w->budget);
    ent_obj_input in[] = {{"name", name, ENT_IN_SHARED},
                          {"budget", bh, ENT_IN_SHARED},
                          {"amount_requested", amount, ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(w->p.eng, "mdf_request", in, 3, id, NULL, err, 256),
        ENT_OK);
    assert_int_equal(tnode_join(&w->p, &w->v, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    assert_int_equal(tnode_join(&w->p, &w->a, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    assert_int_equal(stage(&w->p, id, "Submitted", err), ENT_OK);
    tnode_sync(&w->v, &w->p, id);
    tnode_sync(&w->a, &w->p, id);
}

static void world_open(world *w) {
    char err[256];
    memset(w, 0, sizeof(*w));
    assert_int_equal(tnodes_open(TNODES(&w->v, &w->p, &w->a), 41), 0);
    ent_obj_input in[] = {{"name", CANARY, ENT_IN_SHARED},
                          {"amount", "1000 EUR", ENT_IN_SHARED}};
    assert_int_equal(ent_obj_create(w->v.eng, "mdf_budget", in, 2, w->budget,
                                    NULL, err, 256),
                     ENT_OK);
    assert_int_equal(
        tnode_join(&w->v, &w->p, w->budget, ENT_ROLE_MEMBER, NULL, NULL),
        ENT_OK);
    request(w, w->r1, "Q3 roadshow", "600 EUR");
}

static void world_close(world *w) {
    tnodes_close(TNODES(&w->v, &w->p, &w->a));
}

/* ---------------------------------------------------------------- tests */

/* The request carries rules naming V, the budget's owner, for the
 * approval; P cannot approve its own request, by its engine or by hand. */
static void test_self_approval(void **state) {
    (void)state;
    world w;
    char err[256], vid[ENT_ORG_ID_LEN + 1];
    world_open(&w);
    json_t *rj = NULL;
    assert_int_equal(ent_obj_rules_json(w.a.eng, w.r1, &rj), ENT_OK);
    ent_org_id_format(vid, tnode_pk(&w.v));
    const char *who = json_string_value(json_object_get(
        json_object_get(json_object_get(rj, "rules"), "field_owners"),
        "amount_approved"));
    assert_non_null(who);
    assert_string_equal(who + 4, vid); /* "org:" + V */
    json_decref(rj);
    assert_int_equal(set1(&w.p, w.r1, "amount_approved", "600 EUR", err),
                     ENT_EDENIED);
    assert_int_equal(stage(&w.p, w.r1, "Approved", err), ENT_EDENIED);
    /* nor at the creation: the genesis is judged by the rules it carries */
    char bh[65];
    uint8_t id2[32];
    ent_value_ref_format(bh, w.budget);
    ent_obj_input in[] = {{"budget", bh, ENT_IN_SHARED},
                          {"amount_requested", "600 EUR", ENT_IN_SHARED},
                          {"amount_approved", "600 EUR", ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(w.p.eng, "mdf_request", in, 3, id2, NULL, err, 256),
        ENT_EDENIED);
    assert_non_null(strstr(err, "amount_approved is written by org:"));
    ent_op *op = forge_money(&w.p, w.r1, "amount_approved", 60000);
    int rc = ent_obj_apply(w.a.eng, op->raw, op->rawlen, NULL);
    assert_true(rc == ENT_EDENIED || rc == ENT_OK);
    field_is(&w.a, w.r1, "amount_approved", "null");
    ent_op_free(op);
    world_close(&w);
}

/* V may not approve more than was requested, nor more than is left. */
static void test_limits(void **state) {
    (void)state;
    world w;
    char err[256];
    world_open(&w);
    assert_int_equal(set1(&w.v, w.r1, "amount_approved", "700 EUR", err),
                     ENT_EDENIED);
    assert_non_null(strstr(err, "amount_requested"));
    ent_op *op = forge_money(&w.v, w.r1, "amount_approved", 70000);
    int rc = ent_obj_apply(w.a.eng, op->raw, op->rawlen, NULL);
    assert_true(rc == ENT_EDENIED || rc == ENT_OK);
    field_is(&w.a, w.r1, "amount_approved", "null"); /* counts for nothing */
    ent_op_free(op);
    assert_int_equal(set1(&w.v, w.r1, "amount_approved", "600 EUR", err),
                     ENT_OK);
    assert_int_equal(stage(&w.v, w.r1, "Approved", err), ENT_OK);
    request(&w, w.r2, "Q4 webinar", "600 EUR");
    /* 1000 - 600 = 400 left: 500 is refused, 400 taken */
    assert_int_equal(set1(&w.v, w.r2, "amount_approved", "500 EUR", err),
                     ENT_EDENIED);
    assert_non_null(strstr(err, "left (400.00 EUR)"));
    assert_int_equal(set1(&w.v, w.r2, "amount_approved", "400 EUR", err),
                     ENT_OK);
    assert_int_equal(stage(&w.v, w.r2, "Approved", err), ENT_OK);
    tnode_sync(&w.p, &w.v, w.r1);
    tnode_sync(&w.p, &w.v, w.r2);
    ent_budget_use uv = use_of(&w.v, w.budget), up = use_of(&w.p, w.budget);
    assert_use(&uv, 120000, 100000, 0, 0, 0);
    assert_use(&up, 120000, 100000, 0, 0, 0);
    assert_true(uv.complete);
    assert_false(up.complete);
    assert_true(up.held);
    world_close(&w);
}

/* A claim over the approved amount counts for nothing; the flow goes on to
 * paid; the figures are the same on V and P. */
static void test_claim_to_paid(void **state) {
    (void)state;
    world w;
    char err[256];
    world_open(&w);
    assert_int_equal(set1(&w.v, w.r1, "amount_approved", "500 EUR", err),
                     ENT_OK);
    assert_int_equal(stage(&w.v, w.r1, "Approved", err), ENT_OK);
    tnode_sync(&w.p, &w.v, w.r1);
    assert_int_equal(set1(&w.p, w.r1, "amount_claimed", "550 EUR", err),
                     ENT_EDENIED);
    assert_non_null(strstr(err, "amount_approved"));
    ent_op *op = forge_money(&w.p, w.r1, "amount_claimed", 55000);
    int rc = ent_obj_apply(w.v.eng, op->raw, op->rawlen, NULL);
    assert_true(rc == ENT_EDENIED || rc == ENT_OK);
    field_is(&w.v, w.r1, "amount_claimed", "null");
    ent_op_free(op);
    assert_int_equal(set1(&w.p, w.r1, "amount_claimed", "450 EUR", err),
                     ENT_OK);
    assert_int_equal(stage(&w.p, w.r1, "Claimed", err), ENT_OK);
    tnode_sync(&w.v, &w.p, w.r1);
    /* the claim approval: a signed approval by V, then V's moves */
    assert_int_equal(stage(&w.v, w.r1, "Claim Approved", err), ENT_EDENIED);
    assert_int_equal(ent_obj_approve(w.v.eng, w.r1, "claim", false, NULL, NULL,
                                     err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(stage(&w.v, w.r1, "Claim Approved", err), ENT_OK);
    assert_int_equal(stage(&w.p, w.r1, "Paid", err), ENT_EDENIED);
    assert_int_equal(stage(&w.v, w.r1, "Paid", err), ENT_OK);
    tnode_sync(&w.p, &w.v, w.r1);
    tnode_sync(&w.a, &w.v, w.r1);
    ent_budget_use uv = use_of(&w.v, w.budget), up = use_of(&w.p, w.budget);
    assert_use(&uv, 60000, 50000, 45000, 45000, 50000);
    assert_use(&up, 60000, 50000, 45000, 45000, 50000);
    /* and in object show of the budget, on P */
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(w.p.eng, w.budget, false, &j), ENT_OK);
    json_t *bu = json_object_get(j, "budget_use");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(bu, "paid"),
                                          "amount")),
        "450.00");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(bu, "left"),
                                          "amount")),
        "500.00");
    assert_true(json_is_false(json_object_get(bu, "complete")));
    json_decref(j);
    world_close(&w);
}

/* A, a member of the request and not of the budget: the link is an opaque
 * id, A's use of it knows no amount, and the budget's name is nowhere in
 * A's database. */
static void test_opaque_link(void **state) {
    (void)state;
    world w;
    world_open(&w);
    json_t *j = NULL;
    char bh[65];
    ent_value_ref_format(bh, w.budget);
    assert_int_equal(ent_obj_show_json(w.a.eng, w.r1, false, &j), ENT_OK);
    json_t *l = json_object_get(json_object_get(j, "links"), "budget");
    assert_string_equal(json_string_value(json_object_get(l, "id")), bh);
    assert_true(json_is_false(json_object_get(l, "member")));
    assert_null(json_object_get(l, "type"));
    assert_null(json_object_get(l, "name"));
    char *all = json_dumps(j, 0);
    assert_null(strstr(all, CANARY));
    assert_null(strstr(all, "mdf_budget"));
    free(all);
    json_decref(j);
    /* P, a member of the budget, sees it */
    assert_int_equal(ent_obj_show_json(w.p.eng, w.r1, false, &j), ENT_OK);
    l = json_object_get(json_object_get(j, "links"), "budget");
    assert_string_equal(json_string_value(json_object_get(l, "name")), CANARY);
    json_decref(j);
    ent_budget_use ua = use_of(&w.a, w.budget);
    assert_false(ua.held);
    assert_false(ua.have_amount);
    tdump d = tnode_dump(&w.a);
    assert_null(memmem(d.buf, d.len, CANARY, strlen(CANARY)));
    free(d.buf);
    world_close(&w);
}

/* Two approvals that together exceed the budget (one forged, as V's
 * engine never makes it): the one of the greater order key counts for
 * nothing, on every node and in either arrival order. */
static void test_concurrent_approvals(void **state) {
    (void)state;
    world w;
    char err[256];
    world_open(&w);
    request(&w, w.r2, "Q4 webinar", "600 EUR");
    assert_int_equal(set1(&w.v, w.r1, "amount_approved", "600 EUR", err),
                     ENT_OK);
    ent_op *late = forge_money(&w.v, w.r2, "amount_approved", 60000);
    assert_int_equal(ent_obj_apply(w.v.eng, late->raw, late->rawlen, NULL),
                     ENT_OK); /* judged alone, within what was requested */
    assert_int_equal(stage(&w.v, w.r1, "Approved", err), ENT_OK);
    assert_int_equal(stage(&w.v, w.r2, "Approved", err), ENT_OK);
    /* P gets r2 first, then r1 */
    tnode_sync(&w.p, &w.v, w.r2);
    tnode_sync(&w.p, &w.v, w.r1);
    ent_budget_use uv = use_of(&w.v, w.budget), up = use_of(&w.p, w.budget);
    assert_use(&uv, 120000, 60000, 0, 0, 40000);
    assert_use(&up, 120000, 60000, 0, 0, 40000);
    assert_int_equal(uv.nover, 1);
    assert_int_equal(up.nover, 1);
    ent_op_free(late);
    world_close(&w);
}

/* Concurrent writes of a limited field and its bound: V approves 500
 * having seen 600 requested while P, not having seen it, lowers the
 * request to 400; P then claims 450 (within the 500 it saw approved).
 * Each write is judged in its own past, so every order of arrival on a
 * fresh member gives the same state, byte for byte. */
static void test_arrival_order(void **state) {
    (void)state;
    world w;
    tnode o;
    char err[256];
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    ent_op *ap = NULL, *low = NULL;
    world_open(&w);
    assert_int_equal(tnode_open(&o, 77), 0);
    assert_int_equal(tnode_join(&w.p, &o, w.r1, ENT_ROLE_VIEWER, &boxes,
                                &nboxes),
                     ENT_OK);
    tnode_close(&o);
    tnode_sync(&w.v, &w.p, w.r1);
    ent_obj_input a = {"amount_approved", "500 EUR", ENT_IN_SHARED};
    assert_int_equal(ent_obj_set(w.v.eng, w.r1, &a, 1, &ap, err, 256), ENT_OK);
    ent_obj_input l = {"amount_requested", "400 EUR", ENT_IN_SHARED};
    assert_int_equal(ent_obj_set(w.p.eng, w.r1, &l, 1, &low, err, 256),
                     ENT_OK);
    assert_int_equal(ent_obj_apply(w.p.eng, ap->raw, ap->rawlen, NULL), ENT_OK);
    assert_int_equal(ent_obj_apply(w.v.eng, low->raw, low->rawlen, NULL),
                     ENT_OK);
    field_is(&w.p, w.r1, "amount_approved", "\"500.00\""); /* counted */
    assert_int_equal(stage(&w.v, w.r1, "Approved", err), ENT_OK);
    tnode_sync(&w.p, &w.v, w.r1);
    assert_int_equal(set1(&w.p, w.r1, "amount_claimed", "450 EUR", err),
                     ENT_OK);
    assert_int_equal(stage(&w.p, w.r1, "Claimed", err), ENT_OK);
    tnode_sync(&w.v, &w.p, w.r1);
    uint8_t *ref = NULL, *got = NULL;
    size_t rlen, glen;
    assert_int_equal(ent_obj_state_encode(w.v.eng, w.r1, &ref, &rlen),
                     ENT_OK);
    tops all = tnode_ops(&w.v, w.r1);
    uint64_t rng = 0x5eed;
    for (int round = 0; round < 6; round++) {
        size_t perm[64];
        assert_true(all.n <= 64);
        for (size_t i = 0; i < all.n; i++)
            perm[i] = round == 0 ? all.n - 1 - i : i; /* first: reversed */
        for (size_t i = all.n; round > 0 && i > 1; i--) {
            size_t k = (size_t)(trng_next(&rng) % i), t = perm[i - 1];
            perm[i - 1] = perm[k];
            perm[k] = t;
        }
        assert_int_equal(tnode_open(&o, 77), 0);
        assert_int_equal(ent_obj_accept_keys(o.eng, w.r1, boxes, nboxes),
                         ENT_OK);
        for (size_t i = 0; i < all.n; i++)
            ent_obj_apply(o.eng, all.raw[perm[i]], all.len[perm[i]], NULL);
        assert_int_equal(ent_obj_state_encode(o.eng, w.r1, &got, &glen),
                         ENT_OK);
        assert_int_equal(glen, rlen);
        assert_memory_equal(got, ref, rlen);
        field_is(&o, w.r1, "amount_claimed", "\"450.00\"");
        free(got);
        tnode_close(&o);
    }
    tops_free(&all);
    free(ref);
    free(boxes);
    ent_op_free(ap);
    ent_op_free(low);
    world_close(&w);
}

/* P's own template gives P the approval (a hostile partner): its request
 * carries rules that do not name the budget's owner, so no node counts it
 * against the budget, whatever P writes in it. */
static int foreign_tpl_fn(ent_txn *txn, void *data) {
    (void)data;
    ent_template *t = NULL;
    json_t *j = NULL, *wf;
    char err[256];
    int rc = ent_template_builtin("mdf_request", &t);
    if (rc == ENT_OK)
        rc = ent_template_to_json(t, &j);
    ent_template_free(t);
    t = NULL;
    if (rc != ENT_OK)
        return rc;
    wf = json_object_get(j, "workflow");
    json_object_set_new(json_object_get(wf, "field_owners"), "amount_approved",
                        json_string("owner"));
    rc = ent_template_from_json(j, &t, err, sizeof(err));
    json_decref(j);
    if (rc == ENT_OK)
        rc = ent_template_put(txn, t);
    ent_template_free(t);
    return rc;
}

static void test_foreign_rules(void **state) {
    (void)state;
    world w;
    char err[256], bh[65];
    uint8_t id[32];
    world_open(&w);
    assert_int_equal(ent_store_write(w.p.store, foreign_tpl_fn, NULL), ENT_OK);
    ent_value_ref_format(bh, w.budget);
    ent_obj_input in[] = {{"budget", bh, ENT_IN_SHARED},
                          {"amount_requested", "900 EUR", ENT_IN_SHARED}};
    assert_int_equal(
        ent_obj_create(w.p.eng, "mdf_request", in, 2, id, NULL, err, 256),
        ENT_OK);
    assert_int_equal(tnode_join(&w.p, &w.v, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    assert_int_equal(set1(&w.p, id, "amount_approved", "900 EUR", err),
                     ENT_OK); /* its own rules let it */
    assert_int_equal(stage(&w.p, id, "Submitted", err), ENT_OK);
    tnode_sync(&w.v, &w.p, id);
    ent_budget_use u = use_of(&w.v, w.budget);
    assert_int_equal(u.nforeign, 1);
    assert_int_equal(u.nrequests, 2);
    assert_use(&u, 60000, 0, 0, 0, 100000); /* r1's 600 requested only */
    world_close(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_approval),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_claim_to_paid),
        cmocka_unit_test(test_opaque_link),
        cmocka_unit_test(test_concurrent_approvals),
        cmocka_unit_test(test_foreign_rules),
        cmocka_unit_test(test_arrival_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
