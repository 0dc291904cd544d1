/*
 * join_atomic_test.c - the inviter's join transaction (node/peers/peer_join.h,
 * spec/invites.md section 7 "Atomic redemption"): redeeming the invite,
 * adding the member and logging both commit together or not at all.
 *
 * A storage fault is injected at every write site of the join transaction
 * (ent_store_fail_after n = 1, 2, ... until the call succeeds); every
 * failed attempt must leave the invite unused, the joiner not a member, no
 * table changed and no activity-log entry added. The success then shows
 * the invite used, the member added, the three log entries, and a joiner
 * that can open the keys and reach the inviter's state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/audit/actlog.h"
#include "node/peers/invite.h"
#include "node/peers/peer_join.h"
#include "tests/object_fixture.h"

#define MAX_SITES 2000

static const ent_obj_input opp_in[] = {
    {"name", "Acme rollout", false},
    {"region", "emea", false},
    {"deal_size", "1200000.50 EUR", true},
};

typedef struct invite_fix {
    ent_invite inv;
    uint8_t hh[ENT_HASH_LEN];
    uint8_t proof[ENT_INVITE_PROOF_LEN];
} invite_fix;

typedef struct put_req {
    const ent_invite *inv;
    uint64_t now;
} put_req;

static int put_fn(ent_txn *txn, void *data) {
    put_req *r = data;
    return ent_invite_record_put(txn, r->inv, r->now);
}

/* An invite of inviter a to object id for joiner, stored on a, with the
 * proof the joiner sends in a session of handshake hash fx->hh. */
static void make_invite(tnode *a, const uint8_t id[32], const uint8_t *joiner,
                        uint8_t role, invite_fix *fx) {
    uint64_t now = a->now / 1000;
    assert_int_equal(
        ent_invite_init(&fx->inv, tnode_pk(a), id, "opportunity", role,
                        now + 3600), ENT_OK);
    put_req r = {&fx->inv, now};
    assert_int_equal(ent_store_write(a->store, put_fn, &r), ENT_OK);
    ent_random(fx->hh, sizeof(fx->hh));
    assert_int_equal(ent_invite_proof(fx->proof, &fx->inv, fx->hh, joiner),
                     ENT_OK);
}

typedef struct rec_req {
    const uint8_t *id;
    ent_invite_record rec;
    uint64_t log_size;
} rec_req;

static int rec_fn(ent_txn *txn, void *data) {
    rec_req *r = data;
    uint8_t root[ENT_MERKLE_HASH_LEN];
    int rc = ent_invite_record_get(txn, r->id, &r->rec);
    if (rc == ENT_OK)
        rc = ent_actlog_root(txn, &r->log_size, root);
    return rc;
}

/* The invite record of fx on a, and a's activity-log size. */
static rec_req invite_state(tnode *a, const invite_fix *fx) {
    rec_req r = {.id = fx->inv.id};
    assert_int_equal(ent_store_read(a->store, rec_fn, &r), ENT_OK);
    return r;
}

/* True if org is an active member of id on node n (show JSON). */
static bool is_member(tnode *n, const uint8_t id[32], const uint8_t *org) {
    json_t *js = NULL;
    char want[ENT_ORG_ID_LEN + 1];
    bool found = false;
    ent_org_id_format(want, org);
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &js), ENT_OK);
    json_t *ms = json_object_get(js, "members");
    assert_true(json_is_array(ms));
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        const char *o = json_string_value(json_object_get(m, "org"));
        const char *st = json_string_value(json_object_get(m, "status"));
        if (o != NULL && strcmp(o, want) == 0 && st != NULL &&
            strcmp(st, "active") == 0)
            found = true;
    }
    json_decref(js);
    return found;
}

typedef struct log_req {
    uint64_t from;
    uint8_t kinds[8];
    uint8_t orgs[8][32];
    size_t n;
} log_req;

static int log_cb(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                  size_t len) {
    log_req *r = data;
    if (r->n < 8) {
        r->kinds[r->n] = e->kind;
        memcpy(r->orgs[r->n], e->org, 32);
        r->n++;
    }
    return 0;
}

static int log_fn(ent_txn *txn, void *data) {
    log_req *r = data;
    return ent_actlog_foreach(txn, r->from, log_cb, r);
}

static void test_fault_at_every_site(void **state) {
    tnode a, b;
    uint8_t id[32];
    char err[256];
    invite_fix fx;
    ent_join_grant g;
    unsigned failed = 0;
    assert_int_equal(tnodes_open(TNODES(&a, &b), 61), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 3, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    make_invite(&a, id, tnode_pk(&b), ENT_ROLE_MEMBER, &fx);
    rec_req r0 = invite_state(&a, &fx);
    assert_false(r0.rec.used);
    int rc = ENT_EIO;
    unsigned n;
    for (n = 1; n < MAX_SITES; n++) {
        tdump before = tnode_dump(&a);
        assert_non_null(before.buf);
        ent_store_fail_after(a.store, n);
        rc = ent_peers_join_grant(a.store, a.eng, a.id, fx.inv.id, fx.proof,
                                  fx.hh, tnode_pk(&b), a.now, &g);
        ent_store_fail_after(a.store, 0);
        if (rc == ENT_OK) {
            free(before.buf);
            break;
        }
        /* the injected fault, as is; nothing handed out */
        assert_int_equal(rc, ENT_EIO);
        assert_null(g.op);
        assert_null(g.boxes);
        /* nothing changed: tables, log, invite, membership */
        tdump after = tnode_dump(&a);
        assert_non_null(after.buf);
        assert_true(tdump_equal(&before, &after));
        rec_req r = invite_state(&a, &fx);
        assert_false(r.rec.used);
        assert_int_equal(r.log_size, r0.log_size);
        assert_false(is_member(&a, id, tnode_pk(&b)));
        free(before.buf);
        free(after.buf);
        failed++;
    }
    assert_int_equal(rc, ENT_OK);
    /* at least: invite put, log append, op rows, members, commit */
    assert_true(failed >= 5);
    printf("join: %u write sites in the join transaction, each one "
           "fault-injected\n",
           failed);
    /* committed: invite used by b, b a member, three entries logged */
    rec_req r1 = invite_state(&a, &fx);
    assert_true(r1.rec.used);
    assert_memory_equal(r1.rec.used_by, tnode_pk(&b), 32);
    assert_memory_equal(g.object, id, 32);
    assert_int_equal(g.role, ENT_ROLE_MEMBER);
    assert_non_null(g.op);
    assert_true(g.nboxes >= 1);
    assert_true(is_member(&a, id, tnode_pk(&b)));
    log_req lr = {.from = r0.log_size};
    assert_int_equal(ent_store_read(a.store, log_fn, &lr), ENT_OK);
    assert_int_equal(lr.n, 3);
    assert_int_equal(r1.log_size, r0.log_size + 3);
    assert_int_equal(lr.kinds[0], ENT_LOG_INVITE_USED);
    assert_memory_equal(lr.orgs[0], tnode_pk(&b), 32);
    assert_int_equal(lr.kinds[1], ENT_LOG_OP_AUTHORED);
    assert_int_equal(lr.kinds[2], ENT_LOG_MEMBER_ADDED);
    assert_memory_equal(lr.orgs[2], tnode_pk(&b), 32);
    /* the grant works: b opens the boxes and reaches a's state */
    assert_int_equal(ent_obj_accept_keys(b.eng, id, g.boxes, g.nboxes),
                     ENT_OK);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    uint8_t *s1, *s2;
    size_t l1, l2;
    assert_int_equal(ent_obj_state_encode(a.eng, id, &s1, &l1), ENT_OK);
    assert_int_equal(ent_obj_state_encode(b.eng, id, &s2, &l2), ENT_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
    ent_peers_join_grant_clear(&g);
    /* once only */
    assert_int_equal(ent_peers_join_grant(a.store, a.eng, a.id, fx.inv.id,
                                          fx.proof, fx.hh, tnode_pk(&b),
                                          a.now, &g),
                     ENT_EUSED);
    assert_false(g.invite_ok);
    ent_invite_clear(&fx.inv);
    tnodes_close(TNODES(&a, &b));
}

/* A good invite whose add fails (the joiner is already a member with that
 * role) is not spent: the whole transaction aborts. */
static void test_add_failure_keeps_invite(void **state) {
    tnode a, b;
    uint8_t id[32];
    char err[256];
    invite_fix f1, f2;
    ent_join_grant g;
    assert_int_equal(tnodes_open(TNODES(&a, &b), 63), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 3, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    make_invite(&a, id, tnode_pk(&b), ENT_ROLE_MEMBER, &f1);
    make_invite(&a, id, tnode_pk(&b), ENT_ROLE_MEMBER, &f2);
    assert_int_equal(ent_peers_join_grant(a.store, a.eng, a.id, f1.inv.id,
                                          f1.proof, f1.hh, tnode_pk(&b),
                                          a.now, &g),
                     ENT_OK);
    ent_peers_join_grant_clear(&g);
    tdump before = tnode_dump(&a);
    rec_req r0 = invite_state(&a, &f2);
    assert_int_equal(ent_peers_join_grant(a.store, a.eng, a.id, f2.inv.id,
                                          f2.proof, f2.hh, tnode_pk(&b),
                                          a.now, &g),
                     ENT_EEXIST);
    assert_true(g.invite_ok); /* the invite was fine, the add was not */
    assert_null(g.op);
    assert_null(g.boxes);
    tdump after = tnode_dump(&a);
    assert_true(tdump_equal(&before, &after));
    rec_req r1 = invite_state(&a, &f2);
    assert_false(r1.rec.used);
    assert_int_equal(r1.log_size, r0.log_size);
    /* a bad proof: refused at the redemption */
    f2.proof[0] ^= 1;
    assert_int_equal(ent_peers_join_grant(a.store, a.eng, a.id, f2.inv.id,
                                          f2.proof, f2.hh, tnode_pk(&b),
                                          a.now, &g),
                     ENT_EDENIED);
    assert_false(g.invite_ok);
    free(before.buf);
    free(after.buf);
    ent_invite_clear(&f1.inv);
    ent_invite_clear(&f2.inv);
    tnodes_close(TNODES(&a, &b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_at_every_site),
        cmocka_unit_test(test_add_failure_keeps_invite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
