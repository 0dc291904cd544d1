/*
 * merge_test.c - convergence: three orgs make concurrent ops on one object
 * (member adds, overlapping sets, an owner-only field written by a
 * non-owner and refused, stage moves, comments, ops that depend on each other);
 * the full set of ops is applied in MERGE_PERMS random orders (xorshift64*
 * seeded with MERGE_SEED, so every run sees the same orders) to fresh
 * stores through the real apply path, in random batch sizes, and the
 * canonical shared state must be byte-identical every time and equal to
 * the state of the orgs that made the ops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "tests/object_fixture.h"

#define MERGE_SEED UINT64_C(0x5eed0f0e17e17e)
#define MERGE_PERMS 1000

static void join(tnode *a, tnode *b, const uint8_t id[32], uint8_t role,
                 ent_op_epoch_key **boxes_out, size_t *nboxes_out) {
    assert_int_equal(tnode_join(a, b, id, role, boxes_out, nboxes_out), ENT_OK);
}

static void set1(tnode *n, const uint8_t id[32], const char *f, const char *v) {
    char err[256];
    int rc = tnode_set1(n, id, f, v, err, sizeof(err));
    if (rc != ENT_OK)
        fail_msg("set %s=%s: %s (%s)", f, v, ent_strerror(rc), err);
}

static uint8_t *state_of(tnode *n, const uint8_t id[32], size_t *len) {
    uint8_t *s;
    assert_int_equal(ent_obj_state_encode(n->eng, id, &s, len), ENT_OK);
    return s;
}

typedef struct count_req {
    uint64_t n;
} count_req;

static int pending_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_PENDING, &((count_req *)data)->n);
}

static void test_permutations(void **state) {
    tnode a, b, c, d;
    uint8_t id[32];
    char err[256];
    char aid[ENT_ORG_ID_LEN + 1];
    ent_op_epoch_key *dboxes = NULL;
    size_t ndboxes = 0;
    assert_int_equal(tnodes_open(TNODES(&a, &b, &c), 31), 0);
    assert_int_equal(tnode_open(&d, 34), 0); /* the observer (viewer) */
    ent_org_id_format(aid, tnode_pk(&a));

    /* A creates, owning sourced_by (owner-only in the template) */
    const ent_obj_input in[] = {{"name", "Joint deal", false},
                                {"sourced_by", aid, false},
                                {"deal_size", "10 USD", true}};
    assert_int_equal(
        ent_obj_create(a.eng, "opportunity", in, 3, id, NULL, err, sizeof(err)),
        ENT_OK);
    a.now += 10;
    join(&a, &b, id, ENT_ROLE_ADMIN, NULL, NULL);
    join(&a, &d, id, ENT_ROLE_VIEWER, &dboxes, &ndboxes);
    a.now += 10;
    b.now = c.now = a.now; /* same wall clock: ties go by author */
    /* B (admin) adds C, concurrently with A's own changes */
    join(&b, &c, id, ENT_ROLE_MEMBER, NULL, NULL);

    /* concurrent round 1: nobody sees the others' ops */
    set1(&a, id, "next_step", "A: send proposal");
    set1(&a, id, "region", "EMEA");
    set1(&b, id, "next_step", "B: schedule demo");
    /* owner-only, and B is not the object's owner: a write B's engine
     * would not make is refused even by B's own engine at receipt
     * (spec/objects.md "Merge": an owner-only write counts only from the
     * owner, so no node stores it). Before authority by causal history it
     * was stored everywhere and lost to A's earlier write by HLC. B's
     * next seq is 3 (the add of C, one set). */
    assert_int_equal(tnode_force_set_org(&b, id, "sourced_by", tnode_pk(&b), 3),
                     ENT_EDENIED);
    set1(&b, id, "close_date", "2026-06-30");
    set1(&c, id, "next_step", "C: legal review");
    set1(&c, id, "region", "APAC");
    set1(&c, id, "influenced_by", "Globex");
    ent_op *op = NULL;
    assert_int_equal(
        ent_obj_stage(c.eng, id, "Qualification", &op, err, sizeof(err)),
        ENT_OK);
    ent_op_free(op);
    assert_int_equal(
        ent_obj_stage(a.eng, id, "Solution", &op, err, sizeof(err)), ENT_OK);
    ent_op_free(op);
    assert_int_equal(
        ent_obj_comment(b.eng, id, "B was here", &op, err, sizeof(err)),
        ENT_OK);
    ent_op_free(op);
    assert_int_equal(ent_obj_comment(c.eng, id, "C too", &op, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(op);

    /* round 2: A hears from B only, then writes on top of it */
    assert_int_equal(tnode_sync(&a, &b, id), 0);
    a.now += 5;
    set1(&a, id, "customer_account", "Initech");
    set1(&a, id, "close_date", "2026-07-15");
    /* C clears a field concurrently */
    c.now += 7;
    set1(&c, id, "influenced_by", "");

    /* everyone hears everything */
    tnode *orgs[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                assert_int_equal(tnode_sync(orgs[i], orgs[j], id), 0);
    assert_int_equal(tnode_sync(&d, &a, id), 0);
    size_t ref_len;
    uint8_t *ref = state_of(&a, id, &ref_len);
    for (int i = 1; i < 3; i++) {
        size_t l;
        uint8_t *s = state_of(orgs[i], id, &l);
        assert_int_equal(l, ref_len);
        assert_memory_equal(s, ref, l);
        free(s);
    }

    /* what the merge decided */
    json_t *j;
    assert_int_equal(ent_obj_show_json(d.eng, id, true, &j), ENT_OK);
    json_t *sh = json_object_get(j, "shared");
    assert_string_equal(json_string_value(json_object_get(sh, "sourced_by")),
                        aid);
    assert_string_equal(
        json_string_value(json_object_get(sh, "customer_account")), "Initech");
    assert_string_equal(json_string_value(json_object_get(sh, "close_date")),
                        "2026-07-15");
    assert_true(json_is_null(json_object_get(sh, "influenced_by")));
    assert_int_equal(json_array_size(json_object_get(j, "comments")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "members")), 4);
    assert_null(json_object_get(sh, "deal_size"));
    json_decref(j);

    /* every op, then MERGE_PERMS orders into fresh stores of D */
    tops all = tnode_ops(&a, id);
    assert_true(all.n >= 18);
    size_t n = all.n;
    size_t *perm = calloc(n, sizeof(*perm));
    const uint8_t **raws = calloc(n, sizeof(*raws));
    size_t *lens = calloc(n, sizeof(*lens));
    int *rcs = calloc(n, sizeof(*rcs));
    uint64_t rng = MERGE_SEED;
    size_t held_total = 0;
    for (int p = 0; p < MERGE_PERMS; p++) {
        tnode r;
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t k = (size_t)(trng_next(&rng) % (i + 1));
            size_t t = perm[i];
            perm[i] = perm[k];
            perm[k] = t;
        }
        assert_int_equal(tnode_open(&r, 34), 0);
        /* keys first or last: a held op must wait for them either way */
        bool keys_first = (trng_next(&rng) & 1) != 0;
        if (keys_first)
            assert_int_equal(ent_obj_accept_keys(r.eng, id, dboxes, ndboxes),
                             ENT_OK);
        size_t i = 0;
        while (i < n) {
            size_t chunk = 1 + (size_t)(trng_next(&rng) % 4);
            if (chunk > n - i)
                chunk = n - i;
            for (size_t k = 0; k < chunk; k++) {
                raws[k] = all.raw[perm[i + k]];
                lens[k] = all.len[perm[i + k]];
            }
            ent_apply_info infos[4];
            assert_int_equal(
                ent_obj_apply_batch(r.eng, raws, lens, chunk, infos, rcs),
                ENT_OK);
            for (size_t k = 0; k < chunk; k++) {
                if (rcs[k] != ENT_OK)
                    fail_msg("perm %d: op %zu: %s", p, perm[i + k],
                             ent_err_name(rcs[k]));
                held_total += infos[k].pending;
            }
            i += chunk;
        }
        if (!keys_first)
            assert_int_equal(ent_obj_accept_keys(r.eng, id, dboxes, ndboxes),
                             ENT_OK);
        count_req cr = {0};
        assert_int_equal(ent_store_read(r.store, pending_fn, &cr), ENT_OK);
        assert_int_equal(cr.n, 0);
        size_t l;
        uint8_t *s = state_of(&r, id, &l);
        if (l != ref_len || memcmp(s, ref, l) != 0)
            fail_msg("permutation %d diverged", p);
        free(s);
        tnode_close(&r);
    }
    /* the orders did exercise the held-op path */
    assert_true(held_total > (size_t)MERGE_PERMS);
    print_message("merge: %zu ops x %d orders, %zu ops held on the way\n", n,
                  MERGE_PERMS, held_total);
    free(perm);
    free(raws);
    free(lens);
    free(rcs);
    tops_free(&all);
    free(ref);
    free(dboxes);
    tnodes_close(TNODES(&a, &b, &c, &d));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
