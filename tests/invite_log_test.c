/*
 * invite_log_test.c - the invite_issued activity-log entry (spec/audit.md
 * §7, spec/invites.md §7): ent_peers_invite stores the invite record and
 * appends the entry in one write transaction.
 *
 * A storage fault is injected at every write site of the invite
 * (ent_store_fail_after n = 1, 2, ... until the call succeeds); every
 * failed attempt must leave neither an invite record nor a log entry. The
 * success then shows exactly one new record and one new entry of kind
 * invite_issued naming the object and nothing else, in the unsigned
 * version-2 format and linked by hash to the entry before it. A refused invite (unknown object) logs nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "nodes_fixture.h"

#include "node/audit/actlog.h"
#include "node/peers/invite.h"

#define MAX_SITES 1000

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32];
} world;

#define NODES_WORLD
#include "nodes_fixture.h"

/* What the store holds: invite records, log size, the last entry. */
typedef struct snap {
    uint64_t invites;
    uint64_t log_size;
    ent_actlog_entry last;
    bool has_last;
    uint8_t last_hash[ENT_HASH_LEN]; /* HASH(last entry) */
    uint8_t prev_hash[ENT_HASH_LEN]; /* HASH(the entry before it) */
} snap;

static int count_inv(void *data, const ent_invite_record *r) {
    (*(uint64_t *)data)++;
    return 0;
}

static int last_cb(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                   size_t len) {
    snap *s = data;
    s->last = *e;
    s->has_last = true;
    memcpy(s->prev_hash, s->last_hash, ENT_HASH_LEN);
    ent_hash(s->last_hash, raw, len);
    return 0;
}

static int snap_fn(ent_txn *txn, void *data) {
    snap *s = data;
    uint8_t root[ENT_MERKLE_HASH_LEN];
    int rc = ent_invite_list(txn, count_inv, &s->invites);
    if (rc == ENT_OK)
        rc = ent_actlog_root(txn, &s->log_size, root);
    if (rc == ENT_OK && s->log_size > 0)
        rc = ent_actlog_foreach(txn, s->log_size - (s->log_size > 1 ? 2 : 1),
                                last_cb, s);
    return rc;
}

static snap take(world *w) {
    snap s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(ent_store_read(ent_node_store(w->v), snap_fn, &s),
                     ENT_OK);
    return s;
}

/* One started node V with an object it created (the op is not pushed). */
static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    assert_non_null(w);
    static const char *const names[1] = {"Inviter"};
    nodes_open(w, "/tmp", "invlog", ENT_LOG_ERROR, names, 1);
    ent_obj_input in[1] = {{"name", "Joint deal", false}};
    assert_int_equal(ent_obj_create(veng(w), "opportunity", in, 1, w->obj,
                                    &op, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(op);
    *state = w;
    return 0;
}

static void test_fault_at_every_site(void **state) {
    world *w = *state;
    ent_store *st = ent_node_store(w->v);
    char *token = NULL, iid[33];
    uint64_t expiry = 0;
    snap s0 = take(w);
    assert_true(s0.log_size >= 1); /* the create op's entry */
    int rc = ENT_EIO;
    uint64_t k;
    for (k = 1; k <= MAX_SITES; k++) {
        ent_store_fail_after(st, k);
        rc = ent_peers_invite(vp(w), w->obj, ENT_ROLE_MEMBER,
                              3600, &token, &expiry, iid);
        ent_store_fail_after(st, 0);
        if (rc == ENT_OK)
            break;
        assert_null(token);
        snap s = take(w);
        assert_int_equal(s.invites, s0.invites);
        assert_int_equal(s.log_size, s0.log_size);
    }
    assert_int_equal(rc, ENT_OK);
    assert_true(k > 1); /* at least one fault was injected and survived */
    assert_non_null(token);
    ent_wipe(token, strlen(token));
    free(token);

    snap s1 = take(w);
    assert_int_equal(s1.invites, s0.invites + 1);
    assert_int_equal(s1.log_size, s0.log_size + 1);
    assert_true(s1.has_last);
    const ent_actlog_entry *e = &s1.last;
    assert_int_equal(e->kind, ENT_LOG_INVITE_ISSUED);
    assert_string_equal(ent_actlog_kind_name(e->kind), "invite_issued");
    assert_int_equal(e->index, s0.log_size);
    assert_true(e->has_object);
    assert_memory_equal(e->object, w->obj, 32);
    assert_false(e->has_op);
    assert_false(e->has_org);
    assert_int_equal(e->reason_len, 0);
    assert_true(e->time > 0);
    /* linked to the previous entry; version 3: eleven items, no signature
     * (the org commits to it through its signed tree heads) */
    uint8_t *enc = NULL;
    size_t len = 0;
    assert_int_equal(ent_actlog_entry_encode(e, &enc, &len), ENT_OK);
    assert_int_equal(enc[0], 0x8b);
    assert_int_equal(enc[1], ENT_ACTLOG_VERSION);
    assert_int_equal(ENT_ACTLOG_VERSION, 3);
    free(enc);
    uint8_t zero[ENT_HASH_LEN] = {0};
    assert_memory_not_equal(e->prev, zero, ENT_HASH_LEN);
    assert_memory_equal(e->prev, s1.prev_hash, ENT_HASH_LEN);

    /* a second invite: a second record and a second entry */
    assert_int_equal(ent_peers_invite(vp(w), w->obj,
                                      ENT_ROLE_VIEWER, 60, &token, &expiry,
                                      iid),
                     ENT_OK);
    free(token);
    snap s2 = take(w);
    assert_int_equal(s2.invites, s1.invites + 1);
    assert_int_equal(s2.log_size, s1.log_size + 1);
    assert_int_equal(s2.last.kind, ENT_LOG_INVITE_ISSUED);
}

static void test_refused_invite_logs_nothing(void **state) {
    world *w = *state;
    char *token = NULL, iid[33];
    uint64_t expiry = 0;
    uint8_t other[32];
    memcpy(other, w->obj, 32);
    other[0] ^= 0xff;
    snap s0 = take(w);
    assert_int_equal(ent_peers_invite(vp(w), other,
                                      ENT_ROLE_MEMBER, 3600, &token, &expiry,
                                      iid),
                     ENT_ENOENT);
    assert_null(token);
    snap s1 = take(w);
    assert_int_equal(s1.invites, s0.invites);
    assert_int_equal(s1.log_size, s0.log_size);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fault_at_every_site, setup,
                                        nodes_teardown),
        cmocka_unit_test_setup_teardown(test_refused_invite_logs_nothing,
                                        setup, nodes_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
