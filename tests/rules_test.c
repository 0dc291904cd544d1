/*
 * rules_test.c - node/work/rules.c: the template "workflow" JSON, the CBOR
 * codec (round trip, one encoding, every refusal) and the judgment of a
 * stage transition, table-driven: who may move, which approvals it needs,
 * self-approval, a rejection that follows or is concurrent with an
 * approval, unknown stages and moves, field owners.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/work/rules.h"

static const char *const STAGES[] = {"Draft", "Submitted", "Approved",
                                     "Rejected"};

static uint8_t OWNER[32], VENDOR[32], P1[32], P2[32];

static void orgs(void) {
    memset(OWNER, 1, 32);
    memset(VENDOR, 2, 32);
    memset(P1, 3, 32);
    memset(P2, 4, 32);
}

/* Rules from workflow JSON text (with the four stages). */
static ent_wf_rules *rules_of(const char *text, int want, char *err,
                              size_t errlen) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    ent_wf_rules *r = malloc(sizeof(*r));
    assert_non_null(r);
    int rc = ent_wf_from_json(r, j, STAGES, 4, err, errlen);
    json_decref(j);
    assert_int_equal(rc, want);
    if (rc != ENT_OK) {
        free(r);
        return NULL;
    }
    return r;
}

static const char *mdf_json(void) {
    static char buf[1024];
    char vid[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(vid, VENDOR);
    snprintf(buf, sizeof(buf),
             "{\"transitions\":["
             "{\"from\":\"Draft\",\"to\":\"Submitted\",\"who\":[\"any\"]},"
             "{\"from\":\"Submitted\",\"to\":\"Approved\",\"who\":[\"any\"],"
             "\"approvals\":[{\"step\":\"partner\",\"by\":\"org:%s\"},"
             "{\"step\":\"finance\",\"by\":\"role:admin\"}]},"
             "{\"from\":\"*\",\"to\":\"Rejected\",\"who\":[\"owner\"]}],"
             "\"field_owners\":{\"amount_approved\":\"owner\","
             "\"po\":\"org:%s\"}}",
             vid, vid);
    return buf;
}

static void test_codec(void **state) {
    (void)state;
    orgs();
    char err[256];
    ent_wf_rules *r = rules_of(mdf_json(), ENT_OK, err, sizeof(err));
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len, len2;
    assert_int_equal(ent_wf_encode(r, &enc, &len), ENT_OK);
    ent_wf_rules *d = malloc(sizeof(*d));
    assert_int_equal(ent_wf_decode(d, enc, len), ENT_OK);
    assert_int_equal(ent_wf_encode(d, &enc2, &len2), ENT_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(enc, enc2, len);
    assert_int_equal(d->ntrans, 3);
    assert_true(d->trans[2].any_from);
    assert_string_equal(d->fields[0].name, "po"); /* CBOR key order */
    /* every proper prefix is refused, and so is a trailing byte */
    for (size_t i = 0; i < len; i++)
        assert_int_not_equal(ent_wf_decode(d, enc, i), ENT_OK);
    uint8_t *more = malloc(len + 1);
    memcpy(more, enc, len);
    more[len] = 0;
    assert_int_equal(ent_wf_decode(d, more, len + 1), ENT_ECORRUPT);
    /* another version */
    enc[1] = 0x02;
    assert_int_equal(ent_wf_decode(d, enc, len), ENT_EVERSION);
    /* the JSON view parses back to the same rules */
    json_t *j = ent_wf_to_json(r);
    assert_non_null(j);
    json_object_del(j, "stages");
    ent_wf_rules *r2 = malloc(sizeof(*r2));
    assert_int_equal(ent_wf_from_json(r2, j, STAGES, 4, err, sizeof(err)),
                     ENT_OK);
    json_decref(j);
    free(enc2);
    assert_int_equal(ent_wf_encode(r2, &enc2, &len2), ENT_OK);
    enc[1] = 0x01;
    assert_int_equal(len, len2);
    assert_memory_equal(enc, enc2, len);
    free(more);
    free(enc);
    free(enc2);
    free(r);
    free(r2);
    free(d);
}

static void test_bytes_refused(void **state) {
    (void)state;
    static const struct {
        const char *hex;
        int want;
    } cases[] = {
        /* [1, ["A"], [], []] is valid */
        {"8401816141" "8080", ENT_OK},
        {"8401806141", ENT_ETRUNCATED},         /* cut short */
        {"840180" "8080", ENT_ECORRUPT},        /* zero stages */
        {"8401826141614180" "80", ENT_ECORRUPT}, /* duplicate stage */
        {"83018161418080", ENT_ECORRUPT},       /* three items */
        {"8401816141" "8080" "00", ENT_ECORRUPT}, /* trailing */
        {"9f01816141808080ff", ENT_ENONCANON},  /* indefinite */
        {"841801816141" "8080", ENT_ENONCANON}, /* long-form 1 */
        /* a transition to a stage not listed */
        {"8401816141" "81" "84f66142" "818101" "80" "80", ENT_ECORRUPT},
        /* a transition with no who */
        {"8401816141" "81" "84f66141" "80" "80" "80", ENT_ECORRUPT},
        /* who role 3 (viewer) */
        {"8401816141" "81" "84f66141" "81820203" "80" "80", ENT_ECORRUPT},
        /* who kind 9 */
        {"8401816141" "81" "84f66141" "818109" "80" "80", ENT_ECORRUPT},
        /* fields out of order: "bb" before "a" */
        {"8401816141" "80" "82" "8262626281" "00" "826161" "8100",
         ENT_ENONCANON},
        /* a control byte in a name */
        {"840181610a" "8080", ENT_ECORRUPT},
    };
    ent_wf_rules *r = malloc(sizeof(*r));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[128];
        size_t n = strlen(cases[i].hex) / 2;
        for (size_t k = 0; k < n; k++)
            sscanf(cases[i].hex + 2 * k, "%2hhx", &buf[k]);
        int rc = ent_wf_decode(r, buf, n);
        if (rc != cases[i].want)
            fail_msg("case %zu (%s): got %s, want %s", i, cases[i].hex,
                     ent_err_name(rc), ent_err_name(cases[i].want));
    }
    uint8_t big[ENT_WF_MAX_SIZE + 1] = {0};
    assert_int_equal(ent_wf_decode(r, big, sizeof(big)), ENT_ETOOBIG);
    free(r);
}

static void test_json_refused(void **state) {
    (void)state;
    orgs();
    static const char *const bad[] = {
        "[]",
        "{\"steps\":[]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Nowhere\"}]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\","
        "\"who\":[\"king\"]}]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\","
        "\"who\":[]}]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\","
        "\"who\":[\"org:nope\"]}]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\"},"
        "{\"from\":\"Draft\",\"to\":\"Submitted\"}]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\","
        "\"approvals\":[{\"step\":\"a\",\"by\":\"owner\"},"
        "{\"step\":\"a\",\"by\":\"any\"}]}]}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\","
        "\"approvals\":[{\"step\":\"a\",\"by\":\"owner\",\"x\":1}]}]}",
        "{\"field_owners\":{\"f\":\"nobody\"}}",
        "{\"transitions\":[{\"from\":\"Draft\",\"to\":\"Submitted\","
        "\"when\":\"now\"}]}",
    };
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_null(rules_of(bad[i], ENT_ESCHEMA, err, sizeof(err)));
        assert_true(strncmp(err, "workflow", 8) == 0);
    }
}

/* ------------------------------------------------------------ judging */

/* Decisions with an explicit causal order: before[i][k]. */
typedef struct order_tab {
    bool before[8][8];
} order_tab;

static bool tab_before(void *data, size_t i, size_t k) {
    return ((const order_tab *)data)->before[i][k];
}

static ent_wf_party party(const uint8_t *org, bool owner, bool active,
                          uint8_t role) {
    ent_wf_party p = {.org = org, .owner = owner, .active = active,
                      .role = role};
    return p;
}

static void test_transitions(void **state) {
    (void)state;
    orgs();
    char err[256];
    ent_wf_rules *r = rules_of(mdf_json(), ENT_OK, err, sizeof(err));
    ent_wf_party owner = party(OWNER, true, true, 0),
                 vendor = party(VENDOR, false, true, 2),
                 vendor_gone = party(VENDOR, false, false, 2),
                 p1 = party(P1, false, true, 2),
                 admin = party(P2, false, true, 1),
                 viewer = party(P2, false, true, 3);
    ent_wf_decision ok_v = {.step = "partner", .by = vendor},
                    ok_gone = {.step = "partner", .by = vendor_gone},
                    ok_p1 = {.step = "partner", .by = p1},
                    fin = {.step = "finance", .by = admin},
                    fin_owner = {.step = "finance", .by = owner},
                    rej_v = {.step = "partner", .reject = true, .by = vendor};
    struct {
        const char *name, *from, *to;
        ent_wf_party actor;
        ent_wf_decision ds[4];
        size_t n;
        bool order[4][4];
        bool want;
    } cases[] = {
        {"member submits", "Draft", "Submitted", p1, {{0}}, 0, {{0}}, true},
        {"viewer may not", "Draft", "Submitted", viewer, {{0}}, 0, {{0}},
         false},
        {"no such move", "Draft", "Approved", p1, {{0}}, 0, {{0}}, false},
        {"unknown stage", "Draft", "Paid", owner, {{0}}, 0, {{0}}, false},
        {"no stage yet, only any-from", NULL, "Submitted", p1, {{0}}, 0,
         {{0}}, false},
        {"reject from anywhere: owner", "Approved", "Rejected", owner, {{0}},
         0, {{0}}, true},
        {"reject from anywhere: not a member", "Draft", "Rejected", p1, {{0}},
         0, {{0}}, false},
        {"without approvals", "Submitted", "Approved", p1, {{0}}, 0, {{0}},
         false},
        {"both approvals", "Submitted", "Approved", p1, {ok_v, fin}, 2,
         {{0}}, true},
        {"one of two", "Submitted", "Approved", p1, {ok_v}, 1, {{0}}, false},
        {"the wrong org approves", "Submitted", "Approved", p1, {ok_p1, fin},
         2, {{0}}, false},
        {"an approver that is not active", "Submitted", "Approved", p1,
         {ok_gone, fin}, 2, {{0}}, false},
        {"the owner as finance (admin or better)", "Submitted", "Approved",
         p1, {ok_v, fin_owner}, 2, {{0}}, true},
        {"the vendor approves its own move", "Submitted", "Approved", vendor,
         {ok_v, fin}, 2, {{0}}, false},
        {"a concurrent rejection wins", "Submitted", "Approved", p1,
         {ok_v, fin, rej_v}, 3, {{0}}, false},
        {"a rejection before the approval", "Submitted", "Approved", p1,
         {ok_v, fin, rej_v}, 3, {[2] = {[0] = true}}, true},
        {"a rejection after the approval", "Submitted", "Approved", p1,
         {ok_v, fin, rej_v}, 3, {[0] = {[2] = true}}, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        order_tab t;
        memset(&t, 0, sizeof(t));
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 4; b++)
                t.before[a][b] = cases[i].order[a][b];
        char why[200];
        bool got = ent_wf_transition_ok(r, cases[i].from, cases[i].to,
                                        &cases[i].actor, cases[i].ds,
                                        cases[i].n, tab_before, &t, why,
                                        sizeof(why));
        if (got != cases[i].want)
            fail_msg("%s: got %d (%s)", cases[i].name, got, why);
        if (!got)
            assert_true(why[0] != '\0');
    }
    /* the self flag lets the mover approve */
    r->trans[1].steps[0].self_ok = true;
    ent_wf_decision ds[2] = {ok_v, fin};
    order_tab t;
    memset(&t, 0, sizeof(t));
    assert_true(ent_wf_transition_ok(r, "Submitted", "Approved", &vendor, ds,
                                     2, tab_before, &t, NULL, 0));
    free(r);
}

static void test_field_owners(void **state) {
    (void)state;
    orgs();
    char err[256];
    ent_wf_rules *r = rules_of(mdf_json(), ENT_OK, err, sizeof(err));
    const ent_wf_who *w = ent_wf_field_owner(r, "amount_approved");
    ent_wf_party owner = party(OWNER, true, true, 0),
                 vendor = party(VENDOR, false, true, 2),
                 p1 = party(P1, false, true, 2);
    assert_non_null(w);
    assert_true(ent_wf_who_matches(w, &owner));
    assert_false(ent_wf_who_matches(w, &p1));
    w = ent_wf_field_owner(r, "po");
    assert_true(ent_wf_who_matches(w, &vendor));
    assert_false(ent_wf_who_matches(w, &owner)); /* a named org only */
    assert_false(ent_wf_who_matches(w, &p1));
    vendor.active = false;
    assert_false(ent_wf_who_matches(w, &vendor));
    assert_null(ent_wf_field_owner(r, "name"));
    assert_true(ent_wf_step_known(r, "finance"));
    assert_false(ent_wf_step_known(r, "legal"));
    free(r);
}

static int ref_vendor(void *data, const char *field, uint8_t org[32],
                      bool *found) {
    (void)data;
    *found = strcmp(field, "budget") == 0;
    if (*found)
        memcpy(org, VENDOR, 32);
    return ENT_OK;
}

static ent_value money(int64_t minor, const char *cur) {
    ent_value v;
    memset(&v, 0, sizeof(v));
    v.type = ENT_VT_MONEY;
    v.u.money.minor = minor;
    snprintf(v.u.money.cur, sizeof(v.u.money.cur), "%s", cur);
    return v;
}

/* Amount limits (spec/workflows.md §8): the codec (a fifth element only
 * when there are limits, sorted, no self-bound, no cycle), the JSON, the
 * pure judgment; and the party ref:F, resolved to an org. */
static void test_limits_and_refs(void **state) {
    (void)state;
    char err[256] = "", why[200];
    orgs();
    ent_wf_rules *r = rules_of(
        "{\"transitions\":[{\"from\":\"Submitted\",\"to\":\"Approved\","
        "\"who\":[\"ref:budget\"]}],"
        "\"field_owners\":{\"approved\":\"ref:budget\"},"
        "\"limits\":{\"claimed\":\"approved\",\"approved\":\"requested\"}}",
        ENT_OK, err, sizeof(err));
    assert_int_equal(r->nlimits, 2);
    assert_string_equal(ent_wf_limit_of(r, "approved"), "requested");
    assert_string_equal(ent_wf_limit_of(r, "claimed"), "approved");
    assert_null(ent_wf_limit_of(r, "requested"));
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len, len2;
    assert_int_equal(ent_wf_encode(r, &enc, &len), ENT_OK);
    ent_wf_rules *d = malloc(sizeof(*d)), *x = malloc(sizeof(*x));
    assert_int_equal(ent_wf_decode(d, enc, len), ENT_OK);
    assert_int_equal(d->nlimits, 2);
    assert_string_equal(d->limits[0].field, "claimed"); /* sorted: shorter */
    assert_int_equal(d->trans[0].who[0].kind, ENT_WF_REF);
    assert_string_equal(d->trans[0].who[0].field, "budget");
    assert_int_equal(ent_wf_encode(d, &enc2, &len2), ENT_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(enc, enc2, len);
    assert_int_equal(enc[0], 0x85); /* five elements */
    free(enc2);
    /* unsorted limits and an empty fifth element are not canonical */
    static const uint8_t empty5[] = {0x85, 0x01, 0x81, 0x61, 0x41,
                                     0x80, 0x80, 0x80};
    assert_int_equal(ent_wf_decode(x, empty5, sizeof(empty5)), ENT_ENONCANON);
    static const uint8_t unsorted[] = {0x85, 0x01, 0x81, 0x61, 0x41, 0x80,
                                       0x80, 0x82, 0x82, 0x62, 0x62, 0x62,
                                       0x61, 0x63, 0x82, 0x61, 0x61, 0x61,
                                       0x63};
    assert_int_equal(ent_wf_decode(x, unsorted, sizeof(unsorted)),
                     ENT_ENONCANON);
    static const uint8_t self[] = {0x85, 0x01, 0x81, 0x61, 0x41, 0x80,
                                   0x80, 0x81, 0x82, 0x61, 0x61, 0x61, 0x61};
    assert_int_equal(ent_wf_decode(x, self, sizeof(self)), ENT_ECORRUPT);
    static const uint8_t cycle[] = {0x85, 0x01, 0x81, 0x61, 0x41, 0x80,
                                    0x80, 0x82, 0x82, 0x61, 0x61, 0x61,
                                    0x62, 0x82, 0x61, 0x62, 0x61, 0x61};
    assert_int_equal(ent_wf_decode(x, cycle, sizeof(cycle)), ENT_ECORRUPT);
    rules_of("{\"limits\":{\"a\":\"b\",\"b\":\"a\"}}", ENT_ESCHEMA, err,
             sizeof(err));
    assert_non_null(strstr(err, "cycle"));
    /* the judgment */
    ent_value v = money(50000, "EUR"), b = money(60000, "EUR");
    assert_true(ent_wf_limit_ok(&v, &b, "approved", "requested", why, 200));
    v = money(60000, "EUR");
    assert_true(ent_wf_limit_ok(&v, &b, "approved", "requested", why, 200));
    v = money(60001, "EUR");
    assert_false(ent_wf_limit_ok(&v, &b, "approved", "requested", why, 200));
    assert_non_null(strstr(why, "more than requested"));
    v = money(-1, "EUR");
    assert_false(ent_wf_limit_ok(&v, &b, "approved", "requested", why, 200));
    v = money(100, "USD");
    assert_false(ent_wf_limit_ok(&v, &b, "approved", "requested", why, 200));
    assert_non_null(strstr(why, "currency"));
    v = money(100, "EUR");
    assert_false(ent_wf_limit_ok(&v, NULL, "approved", "requested", why, 200));
    ent_value nul = {.type = ENT_VT_NULL};
    assert_false(ent_wf_limit_ok(&v, &nul, "approved", "requested", why, 200));
    assert_true(ent_wf_limit_ok(&nul, &nul, "approved", "requested", why, 200));
    ent_value i1 = {.type = ENT_VT_INT, .u.i = 3}, i2 = {.type = ENT_VT_INT,
                                                          .u.i = 2};
    assert_false(ent_wf_limit_ok(&i1, &i2, "a", "b", why, 200));
    assert_true(ent_wf_limit_ok(&i2, &i1, "a", "b", why, 200));
    assert_false(ent_wf_limit_ok(&i2, &b, "a", "b", why, 200));
    /* an unresolved ref:F matches the owner only; resolved, that org */
    ent_wf_party owner = {OWNER, true, true, 0}, vendor = {VENDOR, false, true,
                                                           2};
    assert_true(ent_wf_who_matches(&d->fields[0].who, &owner));
    assert_false(ent_wf_who_matches(&d->fields[0].who, &vendor));
    bool changed = false;
    assert_int_equal(ent_wf_resolve_refs(d, ref_vendor, NULL, &changed),
                     ENT_OK);
    assert_true(changed);
    assert_int_equal(d->fields[0].who.kind, ENT_WF_ORG);
    assert_true(ent_wf_who_matches(&d->fields[0].who, &vendor));
    assert_false(ent_wf_who_matches(&d->fields[0].who, &owner));
    assert_true(ent_wf_who_matches(&d->trans[0].who[0], &vendor));
    free(enc);
    free(d);
    free(x);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_bytes_refused),
        cmocka_unit_test(test_json_refused),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_field_owners),
        cmocka_unit_test(test_limits_and_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
