/* object_test.c - the object engine: create/set/show/list, refusals,
 * rejection of bad ops, roles, joins, removals and concurrent removals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/audit/actlog.h"
#include "node/audit/witness.h"
#include "node/home.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

#define CANARY "CANARY-PRIVATE-1234"

static const ent_obj_input opp_in[] = {
    {"name", "Acme rollout", false},  {"customer_account", "Acme Corp", false},
    {"region", "emea", false},        {"deal_size", "1200000.50 EUR", true},
    {"internal_notes", CANARY, true},
};

static bool has_canary(const uint8_t *p, size_t n) {
    return memmem(p, n, CANARY, strlen(CANARY)) != NULL;
}

/* Reads the epoch keys of obj straight from the store (test only). */
typedef struct keyset {
    uint8_t k[16][32];
    size_t n;
} keyset;

static int keys_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    keyset *ks = data;
    if (ks->n < 16 && vlen >= 32)
        memcpy(ks->k[ks->n++], val, 32);
    return 0;
}

static keyset node_keys(tnode *n, const uint8_t obj[32]) {
    keyset ks = {.n = 0};
    assert_int_equal(
        tstore_scan(n->store, ENT_TBL_KEYS, obj, 32, keys_scan, &ks), ENT_OK);
    return ks;
}

/* True if op decrypts with some key in ks and its body holds the canary;
 * asserts that it decrypts at all. */
static bool op_body_has_canary(const uint8_t *raw, size_t len,
                               const keyset *ks) {
    ent_op *op;
    bool found = false, opened = false;
    assert_int_equal(ent_op_decode(&op, raw, len), ENT_OK);
    if (has_canary(raw, len))
        found = true;
    for (size_t i = 0; i < ks->n; i++) {
        uint8_t *body;
        size_t blen;
        if (ent_op_open(op, ks->k[i], &body, &blen) == ENT_OK) {
            opened = true;
            found |= has_canary(body, blen);
            free(body);
        }
    }
    assert_true(opened);
    ent_op_free(op);
    return found;
}

/* The parents an op crafted now needs (spec/membership.md "Structure":
 * every non-genesis op names parents): the heads of obj on node
 * craft_heads, or, with craft_heads NULL, the single op craft_parent (NULL:
 * none). */
static const tnode *craft_heads;
static const ent_op *craft_parent;

/* A set of one text field (NULL text: a clear), optionally owner-only,
 * sealed by hand (for forged, wrong-key and non-member ops), its parents as
 * craft_heads / craft_parent say. */
static ent_op *craft_text(const ent_identity *author, const uint8_t obj[32],
                          const char *field, const char *text, bool owner_only,
                          uint64_t seq, uint64_t hlc, const uint8_t key[32]) {
    ent_op_header h;
    memset(&h, 0, sizeof(h));
    if (craft_heads != NULL) {
        assert_int_equal(tstore_heads(craft_heads->store, obj, &h), ENT_OK);
    } else if (craft_parent != NULL) {
        memcpy(h.parents[0], craft_parent->id, 32);
        h.nparents = 1;
    }
    ent_op_field f = tfield_text(field, text, owner_only);
    ent_op *op =
        tforge_set(author, obj, &f, seq, hlc, 0, h.parents, h.nparents, key);
    assert_non_null(op);
    return op;
}

/* A set of next_step = "forged" at epoch 0. */
static ent_op *craft_set(const ent_identity *author, const uint8_t obj[32],
                         uint64_t seq, uint64_t hlc, const uint8_t key[32]) {
    return craft_text(author, obj, "next_step", "forged", false, seq, hlc, key);
}

static const char *jstr(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    if (b != NULL)
        x = json_object_get(x, b);
    return json_string_value(x);
}

/* Opens the nodes of ns with seed bytes seed, seed + 1, ...; the first
 * creates an opportunity of opp_in, whose id is id. */
static void opp_open(uint8_t id[32], tnode *const *ns, uint8_t seed) {
    assert_int_equal(tnodes_open_obj(ns, seed, "opportunity", opp_in, 5, id),
                     0);
}

/* ------------------------------------------------------------------ tests */

static void test_create_show_list(void **state) {
    tnode a;
    uint8_t id[32];
    ent_op *op = NULL;
    char err[256];
    json_t *j;
    assert_int_equal(tnode_open(&a, 1), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 5, id, &op,
                                    err, sizeof(err)),
                     ENT_OK);
    assert_non_null(op);
    assert_memory_equal(id, op->id, 32);
    assert_false(has_canary(op->raw, op->rawlen));

    assert_int_equal(ent_obj_show_json(a.eng, id, false, &j), ENT_OK);
    assert_string_equal(jstr(j, "type", NULL), "opportunity");
    assert_string_equal(jstr(j, "shared", "name"), "Acme rollout");
    assert_string_equal(jstr(j, "shared", "region"), "EMEA");
    assert_string_equal(jstr(j, "shared", "stage"),
                        "Prospecting"); /* default */
    assert_null(json_object_get(json_object_get(j, "shared"), "deal_size"));
    assert_string_equal(jstr(j, "private", "internal_notes"), CANARY);
    json_t *ds = json_object_get(json_object_get(j, "private"), "deal_size");
    assert_int_equal(json_integer_value(json_object_get(ds, "minor")),
                     120000050);
    assert_int_equal(json_array_size(json_object_get(j, "members")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "members"), 0), "role")),
        "owner");
    /* no org_name callback: the name is unknown, null (not the org id) */
    assert_true(json_is_null(json_object_get(
        json_array_get(json_object_get(j, "members"), 0), "name")));
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 0);
    json_decref(j);

    assert_int_equal(ent_obj_show_json(a.eng, id, true, &j), ENT_OK);
    assert_null(json_object_get(j, "private"));
    assert_string_equal(jstr(j, "shared", "name"), "Acme rollout");
    char *txt = json_dumps(j, 0);
    assert_null(strstr(txt, CANARY));
    free(txt);
    json_decref(j);

    /* set: private only makes no op; shared makes one */
    ent_op *op2 = (ent_op *)1;
    const ent_obj_input p1[] = {{"internal_notes", "second note", true}};
    assert_int_equal(ent_obj_set(a.eng, id, p1, 1, &op2, err, sizeof(err)),
                     ENT_OK);
    assert_null(op2);
    const ent_obj_input s1[] = {{"next_step", "call CFO", false},
                                {"forecast_category", "Commit", true}};
    assert_int_equal(ent_obj_set(a.eng, id, s1, 2, &op2, err, sizeof(err)),
                     ENT_OK);
    assert_non_null(op2);
    assert_int_equal(op2->h.seq, 2);
    assert_int_equal(op2->h.nparents, 1);
    assert_memory_equal(op2->h.parents[0], id, 32);
    assert_true(op2->h.hlc > op->h.hlc);
    assert_int_equal(ent_obj_show_json(a.eng, id, false, &j), ENT_OK);
    assert_string_equal(jstr(j, "shared", "next_step"), "call CFO");
    assert_string_equal(jstr(j, "private", "internal_notes"), "second note");
    assert_string_equal(jstr(j, "private", "forecast_category"), "Commit");
    assert_null(
        json_object_get(json_object_get(j, "shared"), "forecast_category"));
    json_decref(j);

    /* list */
    uint8_t id2[32];
    assert_int_equal(
        ent_obj_create(a.eng, "lead", NULL, 0, id2, NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_obj_list_json(a.eng, NULL, &j), ENT_OK);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    assert_int_equal(ent_obj_list_json(a.eng, "opportunity", &j), ENT_OK);
    assert_int_equal(json_array_size(j), 1);
    char hex[65];
    ent_hex_encode(hex, id, 32);
    assert_string_equal(jstr(json_array_get(j, 0), "id", NULL), hex);
    json_decref(j);
    assert_int_equal(ent_obj_list_json(a.eng, "program", &j), ENT_OK);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    /* the canary is in no stored op, encrypted or not */
    keyset ks = node_keys(&a, id);
    tops t = tnode_ops(&a, id);
    assert_int_equal(t.n, 2);
    for (size_t i = 0; i < t.n; i++)
        assert_false(op_body_has_canary(t.raw[i], t.len[i], &ks));
    assert_false(op_body_has_canary(op->raw, op->rawlen, &ks));
    assert_false(op_body_has_canary(op2->raw, op2->rawlen, &ks));
    tops_free(&t);
    ent_op_free(op);
    ent_op_free(op2);
    tnode_close(&a);
}

static void test_refusals_change_nothing(void **state) {
    tnode a;
    uint8_t id[32], id2[32];
    char err[256];
    ent_op *op = NULL;
    opp_open(id, TNODES(&a), 2);
    tdump before = tnode_dump(&a);
    assert_non_null(before.buf);

    const ent_obj_input bad_date[] = {{"name", "x", false},
                                      {"close_date", "2026-02-30", false}};
    err[0] = 0;
    assert_int_not_equal(ent_obj_create(a.eng, "opportunity", bad_date, 2, id2,
                                        &op, err, sizeof(err)),
                         ENT_OK);
    assert_true(strlen(err) > 0);
    assert_null(op);
    assert_int_not_equal(
        ent_obj_set(a.eng, id, bad_date, 2, &op, err, sizeof(err)), ENT_OK);
    const ent_obj_input priv_set[] = {{"name", "y", false},
                                      {"deal_size", "5 USD", false}};
    err[0] = 0;
    assert_int_equal(ent_obj_set(a.eng, id, priv_set, 2, &op, err, sizeof(err)),
                     ENT_ESCHEMA);
    assert_non_null(strstr(err, "deal_size"));
    assert_int_equal(ent_obj_create(a.eng, "opportunity", priv_set, 2, id2, &op,
                                    err, sizeof(err)),
                     ENT_ESCHEMA);
    const ent_obj_input twice[] = {{"name", "y", false}, {"name", "z", false}};
    assert_int_equal(ent_obj_set(a.eng, id, twice, 2, &op, err, sizeof(err)),
                     ENT_EINVAL);
    assert_int_equal(ent_obj_stage(a.eng, id, "Nowhere", &op, err, sizeof(err)),
                     ENT_ESCHEMA);
    tdump mid = tnode_dump(&a);
    assert_true(tdump_equal(&before, &mid));
    free(mid.buf);

    free(before.buf);
    ent_op_free(op);
    tnode_close(&a);
}

static int tpl_put_fn(ent_txn *txn, void *data) {
    return ent_template_put(txn, data);
}

static void test_strict_template(void **state) {
    tnode a;
    uint8_t id[32], id2[32];
    char err[256];
    ent_op *op = NULL;
    ent_template *t;
    assert_int_equal(tnode_open(&a, 3), 0);
    assert_int_equal(ent_template_builtin("opportunity", &t), ENT_OK);
    t->strict = true;
    assert_int_equal(ent_store_write(a.store, tpl_put_fn, t), ENT_OK);
    ent_template_free(t);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 5, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    tdump before = tnode_dump(&a);
    const ent_obj_input custom[] = {{"name", "x", false},
                                    {"my_custom", "y", false}};
    err[0] = 0;
    assert_int_equal(ent_obj_create(a.eng, "opportunity", custom, 2, id2, &op,
                                    err, sizeof(err)),
                     ENT_ESCHEMA);
    assert_non_null(strstr(err, "my_custom"));
    assert_int_equal(ent_obj_set(a.eng, id, custom, 2, &op, err, sizeof(err)),
                     ENT_ESCHEMA);
    assert_null(op);
    tdump after = tnode_dump(&a);
    assert_true(tdump_equal(&before, &after));
    free(before.buf);
    free(after.buf);
    tnode_close(&a);
}

/* The engine keeps the last built-in template it parsed; a template the
 * org stores later still wins over it at the next change. */
static void test_template_cache(void **state) {
    tnode a;
    uint8_t id[32];
    char err[256];
    ent_template *t;
    opp_open(id, TNODES(&a), 3);
    const ent_obj_input custom[] = {{"my_custom", "y", ENT_IN_CUSTOM}};
    /* built-in opportunity is not strict: a custom field is taken */
    assert_int_equal(ent_obj_set(a.eng, id, custom, 1, NULL, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_set(a.eng, id, custom, 1, NULL, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_template_builtin("opportunity", &t), ENT_OK);
    t->strict = true;
    assert_int_equal(ent_store_write(a.store, tpl_put_fn, t), ENT_OK);
    ent_template_free(t);
    assert_int_equal(ent_obj_set(a.eng, id, custom, 1, NULL, err, sizeof(err)),
                     ENT_ESCHEMA);
    tnode_close(&a);
}

/* A (owner) and B (member): B joins through add_member + accept_keys and
 * reaches A's state byte for byte. */
static void join(tnode *a, tnode *b, const uint8_t id[32], uint8_t role) {
    assert_int_equal(tnode_join(a, b, id, role, NULL, NULL), ENT_OK);
}

static void assert_same_state(tnode *x, tnode *y, const uint8_t id[32]) {
    uint8_t *s1, *s2;
    size_t l1, l2;
    assert_int_equal(ent_obj_state_encode(x->eng, id, &s1, &l1), ENT_OK);
    assert_int_equal(ent_obj_state_encode(y->eng, id, &s2, &l2), ENT_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
}

static int nums_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_OBJ_NUMS, data);
}

/* The object numbers node n has given and holds. */
static uint64_t count_nums(tnode *n) {
    uint64_t c = 0;
    assert_int_equal(ent_store_read(n->store, nums_fn, &c), ENT_OK);
    return c;
}

static void test_bad_ops_rejected(void **state) {
    tnode a, b, c;
    uint8_t id[32];
    char err[256];
    ent_op *op = NULL;
    ent_obj_stats st;
    opp_open(id, TNODES(&a, &b, &c), 4);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    assert_same_state(&a, &b, id);

    /* B holds no private value of A: its whole database lacks the canary */
    tdump db = tnode_dump(&b);
    assert_false(has_canary(db.buf, db.len));
    free(db.buf);

    /* duplicate: ENT_OK, flagged, nothing changes */
    tdump before = tnode_dump(&b);
    tops t = tnode_ops(&a, id);
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(b.eng, t.raw[0], t.len[0], &info), ENT_OK);
    assert_true(info.duplicate);
    tdump after = tnode_dump(&b);
    assert_true(tdump_equal(&before, &after));
    free(after.buf);
    tops_free(&t);

    /* every single-bit flip of a fresh op is refused by B */
    const ent_obj_input s1[] = {{"next_step", "demo", false}};
    assert_int_equal(ent_obj_set(a.eng, id, s1, 1, &op, err, sizeof(err)),
                     ENT_OK);
    size_t nflip = op->rawlen * 8;
    uint8_t **raws = calloc(nflip, sizeof(*raws));
    size_t *lens = calloc(nflip, sizeof(*lens));
    int *rcs = calloc(nflip, sizeof(*rcs));
    for (size_t i = 0; i < nflip; i++) {
        raws[i] = malloc(op->rawlen);
        memcpy(raws[i], op->raw, op->rawlen);
        raws[i][i / 8] ^= (uint8_t)(1u << (i % 8));
        lens[i] = op->rawlen;
    }
    assert_int_equal(ent_obj_apply_batch(b.eng, (const uint8_t *const *)raws,
                                         lens, nflip, NULL, rcs),
                     ENT_OK);
    for (size_t i = 0; i < nflip; i++) {
        if (rcs[i] == ENT_OK)
            fail_msg("bit flip %zu accepted", i);
        free(raws[i]);
    }
    free(raws);
    free(lens);
    free(rcs);
    after = tnode_dump(&b);
    assert_true(tdump_equal(&before, &after));
    free(after.buf);
    /* the flips of the object id named objects B does not hold: their
     * refusals name none, so no directory row and no number is left */
    assert_int_equal(count_nums(&b), 1);
    ent_obj_stats_get(b.eng, &st);
    assert_true(st.rejected >= nflip);
    assert_true(st.badsig > 0);
    /* the original still applies */
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, &info), ENT_OK);
    assert_false(info.duplicate || info.pending);
    assert_same_state(&a, &b, id);
    ent_op_free(op);
    free(before.buf);

    /* non-member C, signing with the right key, its op after everything B
     * holds: refused */
    keyset ks = node_keys(&a, id);
    uint64_t hlc = (a.now + 1000) << 16;
    before = tnode_dump(&b);
    ent_obj_stats s0;
    ent_obj_stats_get(b.eng, &s0);
    craft_heads = &b;
    op = craft_set(c.id, id, 1, hlc, ks.k[0]);
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, NULL),
                     ENT_ENOTMEMBER);
    ent_op_free(op);
    /* A's next op (create, add, set: seq 4) but sealed under a wrong key:
     * refused */
    uint8_t wrong[32];
    ent_random(wrong, 32);
    op = craft_set(a.id, id, 4, hlc, wrong);
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, NULL),
                     ENT_EDECRYPT);
    ent_op_free(op);
    /* forged: C's op claiming to be A's (author A, signed by C) */
    op = craft_set(c.id, id, 51, hlc, ks.k[0]);
    {
        ent_op_header h = op->h;
        uint8_t *body;
        size_t blen;
        ent_op *good;
        assert_int_equal(ent_op_open(op, ks.k[0], &body, &blen), ENT_OK);
        memcpy(h.author, tnode_pk(&a), 32);
        assert_int_equal(ent_op_seal(&good, &h, body, blen, ks.k[0], a.id),
                         ENT_OK);
        /* splice C's signature onto A's op */
        memcpy(good->raw + good->rawlen - 64, op->raw + op->rawlen - 64, 64);
        assert_int_equal(ent_obj_apply(b.eng, good->raw, good->rawlen, NULL),
                         ENT_EBADSIG);
        ent_op_free(good);
        free(body);
    }
    ent_op_free(op);
    /* a future HLC (beyond the drift bound) */
    op = craft_set(a.id, id, 4, (a.now + 3600 * 1000) << 16, ks.k[0]);
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, NULL),
                     ENT_EPROTO);
    ent_op_free(op);
    craft_heads = NULL;
    after = tnode_dump(&b);
    assert_true(tdump_equal(&before, &after));
    free(after.buf);
    free(before.buf);
    ent_obj_stats_get(b.eng, &st);
    assert_int_equal(st.notmember, s0.notmember + 1);
    assert_int_equal(st.decrypt, s0.decrypt + 1);
    assert_int_equal(st.badsig, s0.badsig + 1);
    assert_int_equal(st.proto, s0.proto + 1);
    assert_int_equal(st.rejected, s0.rejected + 4);

    /* A's seq 2 again with other content, but no parents: refused for
     * its structure (S3) before it could be stored as a fork */
    op = craft_set(a.id, id, 2, hlc, ks.k[0]);
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, NULL),
                     ENT_ECORRUPT);
    ent_op_free(op);
    ent_obj_stats_get(b.eng, &st);
    assert_int_equal(st.conflict, 0);
    assert_same_state(&a, &b, id);

    tnodes_close(TNODES(&a, &b, &c));
}

static void test_roles(void **state) {
    tnode a, b, c, d;
    uint8_t id[32];
    char err[256];
    ent_op *op = NULL;
    opp_open(id, TNODES(&a, &b, &c, &d), 7);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    join(&a, &c, id, ENT_ROLE_VIEWER);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    assert_int_equal(tnode_sync(&c, &a, id), 0);
    assert_same_state(&a, &c, id);

    /* viewer cannot set; member cannot add or remove members */
    const ent_obj_input s1[] = {{"next_step", "viewer edit", false}};
    assert_int_equal(ent_obj_set(c.eng, id, s1, 1, &op, err, sizeof(err)),
                     ENT_EDENIED);
    assert_int_equal(ent_obj_comment(c.eng, id, "hi", &op, err, sizeof(err)),
                     ENT_EDENIED);
    assert_int_equal(ent_obj_add_member(b.eng, id, tnode_pk(&d),
                                        ENT_ROLE_MEMBER, &op, NULL, NULL),
                     ENT_EDENIED);
    assert_int_equal(ent_obj_remove_member(b.eng, id, tnode_pk(&c), &op),
                     ENT_EDENIED);
    /* nobody removes the owner */
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&a), &op),
                     ENT_EDENIED);
    /* a viewer's op crafted by hand is refused by the others */
    keyset ks = node_keys(&a, id);
    craft_heads = &a;
    op = craft_set(c.id, id, 1, (a.now + 10) << 16, ks.k[0]);
    craft_heads = NULL;
    assert_int_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL),
                     ENT_EDENIED);
    ent_op_free(op);
    /* a member's set and comment go through */
    assert_int_equal(ent_obj_set(b.eng, id, s1, 1, &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL), ENT_OK);
    ent_op_free(op);
    assert_int_equal(
        ent_obj_comment(b.eng, id, "looks good", &op, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL), ENT_OK);
    ent_op_free(op);
    assert_int_equal(
        ent_obj_stage(a.eng, id, "proposal", &op, err, sizeof(err)), ENT_OK);
    ent_op_free(op);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    assert_same_state(&a, &b, id);
    json_t *j;
    assert_int_equal(ent_obj_show_json(b.eng, id, false, &j), ENT_OK);
    assert_string_equal(jstr(j, "shared", "stage"), "Proposal");
    assert_string_equal(jstr(j, "shared", "next_step"), "viewer edit");
    assert_int_equal(json_array_size(json_object_get(j, "comments")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "members")), 3);
    json_decref(j);
    tnodes_close(TNODES(&a, &b, &c, &d));
}

/* remove: the removed org reads nothing of the new epoch; the rest agree */
static void test_remove_member(void **state) {
    tnode a, b, c;
    uint8_t id[32];
    char err[256];
    ent_op *op = NULL;
    ent_apply_info info;
    opp_open(id, TNODES(&a, &b, &c), 11);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    join(&a, &c, id, ENT_ROLE_MEMBER);
    assert_int_equal(tnode_sync(&b, &a, id), 0);

    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&c), &op),
                     ENT_OK);
    assert_int_equal(op->h.epoch, 0);
    /* C learns of its removal (the op is under the old key) */
    assert_int_equal(ent_obj_apply(c.eng, op->raw, op->rawlen, &info), ENT_OK);
    assert_true(info.removed);
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, &info), ENT_OK);
    assert_false(info.removed);
    ent_op_free(op);

    const ent_obj_input s1[] = {{"next_step", "secret after removal", false}};
    assert_int_equal(ent_obj_set(a.eng, id, s1, 1, &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(op->h.epoch, 1);
    assert_int_equal(ent_obj_apply(c.eng, op->raw, op->rawlen, NULL),
                     ENT_EDECRYPT);
    assert_int_equal(ent_obj_apply(b.eng, op->raw, op->rawlen, NULL), ENT_OK);
    ent_op_free(op);
    /* C may not write any more */
    assert_int_equal(ent_obj_set(c.eng, id, s1, 1, &op, err, sizeof(err)),
                     ENT_EDENIED);
    /* B's new op is epoch 1 too and A reads it */
    const ent_obj_input s2[] = {{"customer_account", "Acme EU", false}};
    assert_int_equal(ent_obj_set(b.eng, id, s2, 1, &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(op->h.epoch, 1);
    assert_int_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL), ENT_OK);
    assert_int_equal(ent_obj_apply(c.eng, op->raw, op->rawlen, NULL),
                     ENT_EDECRYPT);
    ent_op_free(op);
    assert_same_state(&a, &b, id);
    json_t *j;
    assert_int_equal(ent_obj_show_json(c.eng, id, true, &j), ENT_OK);
    assert_string_equal(jstr(j, "status", NULL), "removed");
    assert_null(jstr(j, "shared", "next_step"));
    assert_string_equal(jstr(j, "shared", "customer_account"), "Acme Corp");
    json_decref(j);
    tdump cdb = tnode_dump(&c);
    assert_null(memmem(cdb.buf, cdb.len, "secret after removal", 20));
    assert_null(memmem(cdb.buf, cdb.len, "Acme EU", 7));
    free(cdb.buf);
    tnodes_close(TNODES(&a, &b, &c));
}

/* two admins remove two members at once: both make epoch 1; everyone left
 * converges, and the rotation puts the object in an epoch 2 whose key
 * neither removed org holds. */
static void test_concurrent_removals(void **state) {
    tnode a, b, c, d, e;
    uint8_t id[32];
    char err[256];
    ent_op *rb = NULL, *rd = NULL, *rot = NULL, *op = NULL;
    ent_apply_info ia, ie;
    opp_open(id, TNODES(&a, &b, &c, &d, &e), 21);
    join(&a, &c, id, ENT_ROLE_ADMIN);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    join(&a, &d, id, ENT_ROLE_MEMBER);
    join(&a, &e, id, ENT_ROLE_MEMBER);
    tnode *all[] = {&b, &c, &d, &e};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tnode_sync(all[i], &a, id), 0);

    /* concurrently: A removes B, C removes D */
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&b), &rb),
                     ENT_OK);
    assert_int_equal(ent_obj_remove_member(c.eng, id, tnode_pk(&d), &rd),
                     ENT_OK);
    assert_int_equal(rb->h.epoch, 0);
    assert_int_equal(rd->h.epoch, 0);
    assert_int_equal(ent_obj_apply(a.eng, rd->raw, rd->rawlen, &ia), ENT_OK);
    ent_apply_info ic;
    assert_int_equal(ent_obj_apply(c.eng, rb->raw, rb->rawlen, &ic), ENT_OK);
    assert_int_equal(ent_obj_apply(e.eng, rd->raw, rd->rawlen, &ie), ENT_OK);
    assert_int_equal(ent_obj_apply(e.eng, rb->raw, rb->rawlen, &ie), ENT_OK);
    assert_false(ie.rotate_needed); /* E is a plain member */
    for (tnode *x = &b; x != NULL; x = x == &b ? &d : NULL) {
        assert_int_equal(ent_obj_apply(x->eng, rb->raw, rb->rawlen, NULL),
                         ENT_OK);
        assert_int_equal(ent_obj_apply(x->eng, rd->raw, rd->rawlen, NULL),
                         ENT_OK);
    }
    assert_same_state(&a, &c, id);
    assert_same_state(&a, &e, id);
    /* exactly one of the admins is asked to rotate: the lowest org */
    bool a_low = memcmp(tnode_pk(&a), tnode_pk(&c), 32) < 0;
    tnode *rotator = a_low ? &a : &c;
    assert_int_equal(ia.rotate_needed, a_low);
    assert_int_equal(ic.rotate_needed, !a_low);
    assert_int_equal(ent_obj_rotate_key(rotator->eng, id, &rot), ENT_OK);
    assert_int_equal(rot->h.epoch, 1);
    tnode *others[] = {&a, &c, &e, &b, &d};
    for (int i = 0; i < 5; i++) {
        if (others[i] == rotator)
            continue;
        int rc = ent_obj_apply(others[i]->eng, rot->raw, rot->rawlen, NULL);
        if (others[i] == &b || others[i] == &d)
            assert_true(rc == ENT_OK || rc == ENT_EDECRYPT);
        else
            assert_int_equal(rc, ENT_OK);
    }
    /* after the rotation, B and D read nothing */
    const ent_obj_input s1[] = {{"next_step", "after rotation", false}};
    assert_int_equal(ent_obj_set(e.eng, id, s1, 1, &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(op->h.epoch, 2);
    for (int i = 0; i < 5; i++) {
        if (others[i] == &e)
            continue;
        int rc = ent_obj_apply(others[i]->eng, op->raw, op->rawlen, NULL);
        if (others[i] == &b || others[i] == &d)
            assert_int_equal(rc, ENT_EDECRYPT);
        else
            assert_int_equal(rc, ENT_OK);
    }
    ent_op_free(op);
    assert_same_state(&a, &c, id);
    assert_same_state(&a, &e, id);
    json_t *j;
    assert_int_equal(ent_obj_show_json(e.eng, id, true, &j), ENT_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 2);
    assert_string_equal(jstr(j, "shared", "next_step"), "after rotation");
    json_decref(j);
    ent_op_free(rb);
    ent_op_free(rd);
    ent_op_free(rot);
    for (int i = 0; i < 5; i++)
        tnode_close(others[i]);
}

/* ops waiting for parents that never come are held, but only up to the
 * per-object cap; beyond it they are refused with ENT_ELIMIT */
static void test_pending_bounded(void **state) {
    tnode a, b;
    uint8_t id[32];
    opp_open(id, TNODES(&a, &b), 41);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    keyset ks = node_keys(&a, id);
    size_t n = ENT_OBJ_HELD_AUTHOR_MAX + 2; /* one author's cap */
    uint8_t **raws = calloc(n, sizeof(*raws));
    size_t *lens = calloc(n, sizeof(*lens));
    int *rcs = calloc(n, sizeof(*rcs));
    ent_apply_info *infos = calloc(n, sizeof(*infos));
    ent_op **ops = calloc(n, sizeof(*ops));
    for (size_t i = 0; i < n; i++) {
        ent_op_field f = tfield_text("next_step", NULL, false);
        uint8_t parent[1][32];
        f.v.type = ENT_VT_INT;
        f.v.u.i = (int64_t)i;
        ent_random(parent[0], 32); /* a parent nobody has */
        ops[i] = tforge_set(b.id, id, &f, 1000 + i, (b.now + 5) << 16, 0,
                            parent, 1, ks.k[0]);
        assert_non_null(ops[i]);
        raws[i] = ops[i]->raw;
        lens[i] = ops[i]->rawlen;
    }
    assert_int_equal(ent_obj_apply_batch(a.eng, (const uint8_t *const *)raws,
                                         lens, n, infos, rcs),
                     ENT_OK);
    for (size_t i = 0; i < ENT_OBJ_HELD_AUTHOR_MAX; i++) {
        assert_int_equal(rcs[i], ENT_OK);
        assert_true(infos[i].pending);
    }
    assert_int_equal(rcs[ENT_OBJ_HELD_AUTHOR_MAX], ENT_ELIMIT);
    assert_int_equal(rcs[ENT_OBJ_HELD_AUTHOR_MAX + 1], ENT_ELIMIT);
    /* a held op sent again is a duplicate */
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(a.eng, raws[3], lens[3], &info), ENT_OK);
    assert_true(info.duplicate && info.pending);
    /* the shared state did not move */
    assert_same_state(&a, &b, id);
    ent_obj_stats st;
    ent_obj_stats_get(a.eng, &st);
    assert_int_equal(st.limit, 2);
    for (size_t i = 0; i < n; i++)
        ent_op_free(ops[i]);
    free(ops);
    free(raws);
    free(lens);
    free(rcs);
    free(infos);
    tnodes_close(TNODES(&a, &b));
}

/* Pending table entries of the whole store (test only). */
static int pending_count_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_PENDING, data);
}

static uint64_t pending_count(tnode *n) {
    uint64_t c = 0;
    assert_int_equal(ent_store_read(n->store, pending_count_fn, &c), ENT_OK);
    return c;
}

/* Wait entries (writes table, tag 4) of obj (test only). */
typedef struct wait_req {
    const uint8_t *obj;
    size_t n;
} wait_req;

static int wait_count_scan(void *data, const void *key, size_t klen,
                           const void *val, size_t vlen) {
    ((wait_req *)data)->n++;
    return 0;
}

static int wait_count_fn(ent_txn *txn, void *data) {
    wait_req *r = data;
    uint8_t pre[33];
    memcpy(pre, r->obj, 32);
    pre[32] = 0x04;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, wait_count_scan, r);
}

static size_t wait_count(tnode *n, const uint8_t obj[32]) {
    wait_req r = {.obj = obj};
    assert_int_equal(ent_store_read(n->store, wait_count_fn, &r), ENT_OK);
    return r.n;
}

/* a chain of 257 ops arrives in reverse order: the last 256 (one author's
 * cap of held ops) are held
 * (each waits on its parent), then the first releases all of them in one
 * apply; the state equals the author's and nothing stays held */
static void test_release_long_chain(void **state) {
    enum { CHAIN = ENT_OBJ_HELD_AUTHOR_MAX + 1 };
    tnode a, b;
    uint8_t id[32];
    char err[256];
    opp_open(id, TNODES(&a, &b), 43);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    ent_op **ops = calloc(CHAIN, sizeof(*ops));
    const uint8_t **raws = calloc(CHAIN, sizeof(*raws));
    size_t *lens = calloc(CHAIN, sizeof(*lens));
    int *rcs = calloc(CHAIN, sizeof(*rcs));
    ent_apply_info *infos = calloc(CHAIN, sizeof(*infos));
    assert_true(ops && raws && lens && rcs && infos);
    for (size_t i = 0; i < CHAIN; i++) {
        char v[32];
        snprintf(v, sizeof(v), "step %zu", i);
        ent_obj_input in = {"next_step", v, false};
        assert_int_equal(
            ent_obj_set(a.eng, id, &in, 1, &ops[i], err, sizeof(err)), ENT_OK);
        assert_non_null(ops[i]);
        /* a chain: each op's only parent is the one before */
        if (i > 0) {
            assert_int_equal(ops[i]->h.nparents, 1);
            assert_memory_equal(ops[i]->h.parents[0], ops[i - 1]->id, 32);
        }
        raws[CHAIN - 1 - i] = ops[i]->raw; /* reversed */
        lens[CHAIN - 1 - i] = ops[i]->rawlen;
    }
    /* all but the first: held */
    assert_int_equal(
        ent_obj_apply_batch(b.eng, raws, lens, CHAIN - 1, infos, rcs), ENT_OK);
    for (size_t i = 0; i < CHAIN - 1; i++) {
        assert_int_equal(rcs[i], ENT_OK);
        assert_true(infos[i].pending);
    }
    assert_int_equal(pending_count(&b), CHAIN - 1);
    assert_int_equal(wait_count(&b, id), CHAIN - 1);
    ent_obj_stats s0, s1;
    ent_obj_stats_get(b.eng, &s0);
    struct timespec t0, t1;
    ent_apply_info info;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(
        ent_obj_apply(b.eng, raws[CHAIN - 1], lens[CHAIN - 1], &info), ENT_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_false(info.pending);
    assert_false(info.duplicate);
    assert_int_equal(info.released, CHAIN - 1);
    ent_obj_stats_get(b.eng, &s1);
    assert_int_equal(s1.applied - s0.applied, CHAIN);
    assert_int_equal(pending_count(&b), 0);
    assert_int_equal(wait_count(&b, id), 0);
    assert_same_state(&a, &b, id);
    json_t *js = NULL;
    assert_int_equal(ent_obj_show_json(b.eng, id, true, &js), ENT_OK);
    char last[32];
    snprintf(last, sizeof(last), "step %d", CHAIN - 1);
    assert_string_equal(jstr(js, "shared", "next_step"), last);
    json_decref(js);
    printf("release: %d held ops released by one apply in %.1f ms\n", CHAIN - 1,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    for (size_t i = 0; i < CHAIN; i++)
        ent_op_free(ops[i]);
    free(ops);
    free(raws);
    free(lens);
    free(rcs);
    free(infos);
    tnodes_close(TNODES(&a, &b));
}

/* The raw fields rows of obj on n (flags byte included). */
static tdump fields_dump(tnode *n, const uint8_t obj[32]) {
    tdump d = {0};
    assert_int_equal(
        tstore_scan(n->store, ENT_TBL_FIELDS, obj, 32, dump_scan, &d), ENT_OK);
    assert_true(d.len > 0);
    return d;
}

static double ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Applies ops in one batch: in index order, or (split) the odd indexes
 * first, then the even ones. */
static void apply_all(tnode *n, ent_op **ops, size_t cnt, bool split) {
    const uint8_t **raws = calloc(cnt, sizeof(*raws));
    size_t *lens = calloc(cnt, sizeof(*lens));
    int *rcs = calloc(cnt, sizeof(*rcs));
    assert_true(raws && lens && rcs);
    for (size_t i = 0; i < cnt; i++) {
        size_t half = cnt / 2;
        ent_op *op = ops[!split ? i : i < half ? 2 * i + 1 : 2 * (i - half)];
        raws[i] = op->raw;
        lens[i] = op->rawlen;
    }
    assert_int_equal(ent_obj_apply_batch(n->eng, raws, lens, cnt, NULL, rcs),
                     ENT_OK);
    for (size_t i = 0; i < cnt; i++)
        assert_int_equal(rcs[i], ENT_OK);
    free(raws);
    free(lens);
    free(rcs);
}

/*
 * One field written HOT times by two authors, the owner A and the member E,
 * each in its own chain (every op's parent is its author's previous one, as
 * spec/membership.md "Structure" requires), the two chains' HLCs advancing
 * at different rates so that their order keys interleave; some writes are
 * clears. B applies E's chain first, then A's (so most writes arrive after
 * writes they lose to), C in the order of their order keys, and both end
 * with the same state, the same fields rows and the greatest write as
 * winner (the merge fast path). Then an owner-only write by the
 * owner A and a later plain write by E: on D, which got the owner-only
 * write before the HOT ones (held until they come), and on C, which gets
 * it after them, the field is A's, E's later write does not win, and the
 * rows are the same. (Before authority by causal history, one author's
 * writes were crafted without parents and the owner-only write came from a
 * member, which is now refused at receipt: see tests/authority_test.c.)
 */
static void test_hot_field(void **state) {
    enum { HOT = 2000 };
    tnode a, b, c, d, e;
    uint8_t id[32];
    opp_open(id, TNODES(&a, &b, &c, &d, &e), 45);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    join(&a, &c, id, ENT_ROLE_MEMBER);
    join(&a, &d, id, ENT_ROLE_MEMBER);
    join(&a, &e, id, ENT_ROLE_MEMBER);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    assert_int_equal(tnode_sync(&c, &a, id), 0);
    assert_int_equal(tnode_sync(&d, &a, id), 0);
    keyset ks = node_keys(&a, id);
    uint64_t base = (a.now + 1000) << 16;
    ent_op **ops = calloc(HOT, sizeof(*ops));
    assert_non_null(ops);
    const ent_op *last_a = NULL, *last_e = NULL;
    uint64_t seq_a = 6, seq_e = 1; /* A: create and four adds before */
    size_t top = 0;                /* index of the write with the highest HLC */
    uint64_t top_hlc = 0;
    for (size_t i = 0; i < HOT; i++) {
        char v[32];
        bool by_a = i % 2 == 0;
        uint64_t k = i / 2;
        uint64_t hlc = base + 16 + (by_a ? 2 * k : 3 * k + 1);
        snprintf(v, sizeof(v), "hot %zu", i);
        craft_heads = (by_a ? last_a : last_e) == NULL ? &a : NULL;
        craft_parent = by_a ? last_a : last_e;
        ops[i] = craft_text(by_a ? a.id : e.id, id, "next_step",
                            i % 7 == 3 ? NULL : v, false,
                            by_a ? seq_a++ : seq_e++, hlc, ks.k[0]);
        if (by_a)
            last_a = ops[i];
        else
            last_e = ops[i];
        if (hlc > top_hlc) {
            top_hlc = hlc;
            top = i;
        }
    }
    craft_heads = NULL;
    craft_parent = last_a;
    ent_op *own = craft_text(a.id, id, "next_step", "mine", true, seq_a,
                             base + 16 + 2 * (HOT / 2), ks.k[0]);
    craft_parent = last_e;
    ent_op *late = craft_text(e.id, id, "next_step", "late", false, seq_e,
                              top_hlc + 1, ks.k[0]);
    craft_parent = NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    apply_all(&b, ops, HOT, true);
    double rev_ms = ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    apply_all(&c, ops, HOT, false);
    double fwd_ms = ms_since(&t0);
    assert_same_state(&b, &c, id);
    tdump f1 = fields_dump(&b, id), f2 = fields_dump(&c, id);
    assert_true(tdump_equal(&f1, &f2));
    free(f1.buf);
    free(f2.buf);
    char want[32];
    snprintf(want, sizeof(want), "hot %zu", top);
    assert_true(top % 7 != 3);
    json_t *js = NULL;
    assert_int_equal(ent_obj_show_json(b.eng, id, true, &js), ENT_OK);
    assert_string_equal(jstr(js, "shared", "next_step"), want);
    json_decref(js);
    printf("hot field: %d writes of one field applied one chain after the "
           "other in %.1f ms, in order in %.1f ms\n",
           HOT, rev_ms, fwd_ms);

    /* owner-only: D gets it first, C last; the later plain write of E
     * arrives on C while the field is already owned */
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(d.eng, own->raw, own->rawlen, &info),
                     ENT_OK);
    assert_true(info.pending);
    apply_all(&d, ops, HOT, true);
    assert_int_equal(ent_obj_apply(d.eng, late->raw, late->rawlen, NULL),
                     ENT_OK);
    assert_int_equal(ent_obj_apply(c.eng, own->raw, own->rawlen, NULL), ENT_OK);
    assert_int_equal(ent_obj_apply(c.eng, late->raw, late->rawlen, NULL),
                     ENT_OK);
    assert_same_state(&c, &d, id);
    f1 = fields_dump(&c, id);
    f2 = fields_dump(&d, id);
    assert_true(tdump_equal(&f1, &f2));
    free(f1.buf);
    free(f2.buf);
    assert_int_equal(ent_obj_show_json(c.eng, id, true, &js), ENT_OK);
    assert_string_equal(jstr(js, "shared", "next_step"), "mine");
    json_decref(js);
    ent_op_free(own);
    ent_op_free(late);
    for (size_t i = 0; i < HOT; i++)
        ent_op_free(ops[i]);
    free(ops);
    tnodes_close(TNODES(&a, &b, &c, &d, &e));
}

static int mark_fn(ent_txn *txn, void *data) {
    return ent_home_meta_put(txn, ENT_META_RESTORED, data);
}

static int count_fn(ent_txn *txn, void *data) {
    return ent_witness_count(txn, data);
}

static int head_fn(ent_txn *txn, void *data) {
    ent_actlog_head h;
    return ent_actlog_sign_head(txn, data, 1700000000000ULL, &h);
}

/* A node restored from a backup (spec/operations.md §3): with the restore
 * mark it signs nothing on an existing object and no tree head, but may
 * create a new object; its own newer ops, received back, apply; once the
 * mark is gone its next op continues the chain after them, and the node
 * that never lost them takes that op without an equivocation. */
static void test_restore_mark(void **state) {
    tnode a, r;
    uint8_t id[32], id2[32];
    ent_op *op = NULL;
    char err[256];
    const ent_obj_input step1[] = {{"next_step", "one", false}};
    const ent_obj_input step2[] = {{"next_step", "two", false}};
    const ent_obj_input step3[] = {{"next_step", "three", false}};
    assert_int_equal(tnode_open(&a, 1), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 5, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_set(a.eng, id, step1, 1, NULL, err, sizeof(err)),
                     ENT_OK);
    /* the backup: a copy of a's store, opened as r with a's key */
    memset(&r, 0, sizeof(r));
    assert_int_equal(tmp_dir(r.dir, sizeof(r.dir), "restored"), 0);
    assert_int_equal(ent_store_copy(a.store, r.dir), ENT_OK);
    assert_int_equal(ent_store_open(&r.store, r.dir, 0, NULL), ENT_OK);
    assert_int_equal(tnode_attach(&r, 1, ENT_LOG_ERROR), 0);
    assert_int_equal(ent_store_write(r.store, mark_fn,
                                     "{\"restored\":\"t\"}"),
                     ENT_OK);
    /* a goes on after the backup: seq 3 */
    assert_int_equal(ent_obj_set(a.eng, id, step2, 1, &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(op->h.seq, 3);
    ent_op_free(op);
    op = NULL;

    /* marked: every signing path on the object is refused, nothing stored */
    tops t0 = tnode_ops(&r, id);
    size_t before = t0.n;
    tops_free(&t0);
    assert_int_equal(ent_obj_set(r.eng, id, step3, 1, &op, err, sizeof(err)),
                     ENT_ERESTORING);
    assert_null(op);
    assert_int_equal(ent_obj_comment(r.eng, id, "hi", NULL, err, sizeof(err)),
                     ENT_ERESTORING);
    assert_int_equal(ent_obj_rotate_key(r.eng, id, NULL), ENT_ERESTORING);
    assert_int_equal(ent_store_write(r.store, head_fn, r.id), ENT_ERESTORING);
    tops t1 = tnode_ops(&r, id);
    assert_int_equal(t1.n, before);
    tops_free(&t1);
    /* a new object has no earlier op to repeat */
    assert_int_equal(ent_obj_create(r.eng, "lead", NULL, 0, id2, NULL, err,
                                    sizeof(err)),
                     ENT_OK);

    /* our own newer op comes back from a partner and applies */
    assert_int_equal(tnode_sync(&r, &a, id), 0);
    assert_int_equal(ent_store_write(r.store, mark_fn, NULL), ENT_OK);
    assert_int_equal(ent_store_write(r.store, head_fn, r.id), ENT_OK);
    assert_int_equal(ent_obj_set(r.eng, id, step3, 1, &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(op->h.seq, 4);
    ent_op_free(op);
    /* the node that kept everything takes it: one chain, no fork */
    assert_int_equal(tnode_sync(&a, &r, id), 0);
    tops ta = tnode_ops(&a, id), tr = tnode_ops(&r, id);
    assert_int_equal(ta.n, tr.n);
    tops_free(&ta);
    tops_free(&tr);
    uint64_t equivocations = 1;
    assert_int_equal(ent_store_read(a.store, count_fn, &equivocations),
                     ENT_OK);
    assert_int_equal(equivocations, 0);
    tnode_close(&r);
    tnode_close(&a);
}

/* Stored money values read back as written, at each integer width, and
 * the decoder (with its shortcut for money) still refuses non-canonical,
 * truncated, over-long and out-of-range forms. */
static void test_money_blobs(void **state) {
    (void)state;
    static const int64_t minors[] = {0,
                                     1,
                                     23,
                                     24,
                                     255,
                                     256,
                                     65535,
                                     65536,
                                     4294967295LL,
                                     4294967296LL,
                                     INT64_MAX,
                                     -1,
                                     -24,
                                     -25,
                                     -256,
                                     -257,
                                     -4294967297LL,
                                     INT64_MIN};
    for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
        ent_value v = {.type = ENT_VT_MONEY}, back;
        uint8_t *blob = NULL;
        size_t len = 0;
        v.u.money.minor = minors[i];
        memcpy(v.u.money.cur, "EUR", 4);
        assert_int_equal(ent__obj_value_encode(&v, &blob, &len), ENT_OK);
        assert_int_equal(ent_obj_value_decode(blob, len, &back), ENT_OK);
        assert_true(ent_value_equal(&v, &back));
        assert_int_equal(ent_obj_value_decode(blob, len - 1, &back),
                         ENT_ECORRUPT);
        free(blob);
    }
    static const struct {
        uint8_t b[16];
        size_t len;
    } bad[] = {
        /* 5 in two bytes */
        {{0x82, 3, 0x82, 0x18, 5, 0x63, 'U', 'S', 'D'}, 9},
        /* 300 in four bytes */
        {{0x82, 3, 0x82, 0x1a, 0, 0, 1, 0x2c, 0x63, 'U', 'S', 'D'}, 12},
        /* beyond INT64_MAX */
        {{0x82, 3, 0x82, 0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x63, 'U', 'S', 'D'},
         16},
        /* a trailing byte */
        {{0x82, 3, 0x82, 5, 0x63, 'U', 'S', 'D', 0}, 9},
        /* a two-letter currency */
        {{0x82, 3, 0x82, 5, 0x62, 'U', 'S'}, 7},
        /* an indefinite length */
        {{0x82, 3, 0x82, 0x1f, 0x63, 'U', 'S', 'D'}, 8},
        /* bytes, not text */
        {{0x82, 3, 0x82, 5, 0x43, 'U', 'S', 'D'}, 8},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ent_value back;
        assert_int_equal(ent_obj_value_decode(bad[i].b, bad[i].len, &back),
                         ENT_ECORRUPT);
    }
    uint8_t neg[] = {0x82, 3, 0x82, 0x38, 0x18, 0x63, 'U', 'S', 'D'};
    ent_value back;
    assert_int_equal(ent_obj_value_decode(neg, sizeof(neg), &back), ENT_OK);
    assert_int_equal(back.u.money.minor, -25);
    assert_string_equal(back.u.money.cur, "USD");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_blobs),
        cmocka_unit_test(test_create_show_list),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_strict_template),
        cmocka_unit_test(test_template_cache),
        cmocka_unit_test(test_bad_ops_rejected),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_remove_member),
        cmocka_unit_test(test_concurrent_removals),
        cmocka_unit_test(test_pending_bounded),
        cmocka_unit_test(test_release_long_chain),
        cmocka_unit_test(test_hot_field),
        cmocka_unit_test(test_restore_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
