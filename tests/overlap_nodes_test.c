/*
 * overlap_nodes_test.c - account mapping between two real nodes in one
 * process (nodes_fixture.h): a partnership invite taken up (consent
 * records and partner_added entries on both sides), runs refused until
 * both share, the lower level governing (counts hides which accounts,
 * accounts shows one's own matches, flags adds only the flags both
 * chose), revocation, the per-day limit, the own-list change limit, the
 * partner's size change, the suspension after the matches churned, the
 * overlap_run entries with one run id on both sides, and a distinctive
 * non-matching account that is in no result of the partner and not in its
 * database file; and OVERLAP from a fellow member that is no partner,
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes_fixture.h"
typedef struct world {
    NODES_WORLD_FIELDS;
    char run[33];
    bpeer z; /* a member of one of V's objects, not a partner */
} world;
#define NODES_WORLD
#include "nodes_fixture.h"

#include "node/audit/actlog.h"
#include "node/overlap/accounts.h"
#include "node/overlap/overlap.h"
#include "node/overlap/psi_run.h"
#include "node/peers/partner.h"

#define CANARY_NAME "Zyxqorp Canary Widgets GmbH"
#define CANARY_DOMAIN "zyxqorp-canary.example"

static ent_overlap *vo(world *w) {
    return ent_node_part_state(w->v, ENT_NODE_OVERLAP);
}
static ent_overlap *ho(world *w) {
    return ent_node_part_state(w->h, ENT_NODE_OVERLAP);
}

typedef struct acc_batch {
    size_t from, to;
    uint32_t flags_every; /* account i is a customer when i % this == 0 */
    bool canary;
} acc_batch;

static int acc_fn(ent_txn *txn, void *data) {
    acc_batch *b = data;
    char err[128];
    for (size_t i = b->from; i < b->to; i++) {
        char name[64], dom[64];
        snprintf(name, sizeof(name), "Company %zu Ltd", i);
        snprintf(dom, sizeof(dom), "https://www.company%zu.example/", i);
        json_t *o = json_pack("{s:s,s:s,s:s}", "name", name, "domain", dom,
                              "flags",
                              i % b->flags_every == 0 ? "customer,opportunity"
                                                      : "prospect");
        ent_account a;
        int rc = ent_account_from_json(o, &a, err, sizeof(err));
        json_decref(o);
        if (rc == ENT_OK)
            rc = ent_accounts_put(txn, &a);
        if (rc != ENT_OK)
            return rc;
    }
    if (b->canary) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "name", CANARY_NAME, "domain",
                              CANARY_DOMAIN, "flags", "customer");
        ent_account a;
        int rc = ent_account_from_json(o, &a, err, sizeof(err));
        json_decref(o);
        if (rc == ENT_OK)
            rc = ent_accounts_put(txn, &a);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static void add_accounts(ent_node *n, size_t from, size_t to,
                         uint32_t every, bool canary) {
    acc_batch b = {from, to, every, canary};
    assert_int_equal(ent_store_write(ent_node_store(n), acc_fn, &b), ENT_OK);
}

static bool partners_ready(world *w) {
    return ent_peers_ready(vp(w), horg(w)) && ent_peers_ready(hp(w), vorg(w));
}

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    setenv("ENTENTE_DIAL_BASE_MS", "50", 1);
    setenv("ENTENTE_OVERLAP_RUNS_PER_DAY", "20", 1);
    static const char *const names[2] = {"Vance", "Holt"};
    nodes_open(w, "/tmp", "overlap", ENT_LOG_OFF, names, 2);
    /* the partnership */
    char err[256], *token = NULL, iid[33];
    uint64_t expiry;
    assert_int_equal(
        ent_peers_partner_invite(vp(w), 3600, &token, &expiry, iid), ENT_OK);
    assert_non_null(strstr(token, "ent1"));
    assert_int_equal(ent_peers_join(hp(w), token, strlen(token), &w->jid, err,
                                    sizeof(err)),
                     ENT_OK);
    free(token);
    assert_true(run_until(w, nodes_join_over, 10000));
    nodes_join_assert_done(w);
    assert_true(run_until(w, partners_ready, 10000));
    *state = w;
    return 0;
}

/* The last run of o with org is over; its state. */
static const char *run_state(ent_overlap *o, const uint8_t *org) {
    static char st[16];
    json_t *j = NULL;
    st[0] = '\0';
    if (ent_overlap_json(o, org, &j) == ENT_OK) {
        const char *s =
            json_string_value(json_object_get(json_object_get(j, "run"),
                                              "state"));
        snprintf(st, sizeof(st), "%s", s ? s : "");
    }
    json_decref(j);
    return st;
}

static bool both_over(world *w) {
    return strcmp(run_state(vo(w), horg(w)), "running") != 0 &&
           strcmp(run_state(ho(w), vorg(w)), "running") != 0 &&
           run_state(vo(w), horg(w))[0] != '\0' &&
           run_state(ho(w), vorg(w))[0] != '\0';
}

/* V runs with H to the end; returns V's and H's views (caller decrefs). */
static void run_once(world *w, json_t **vj, json_t **hj) {
    char err[256];
    assert_int_equal(ent_overlap_run(vo(w), horg(w), w->run, err, sizeof(err)),
                     ENT_OK);
    assert_true(run_until(w, both_over, 20000));
    assert_int_equal(ent_overlap_json(vo(w), horg(w), vj), ENT_OK);
    assert_int_equal(ent_overlap_json(ho(w), vorg(w), hj), ENT_OK);
}

static const char *jstr(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    return json_string_value(b ? json_object_get(x, b) : x);
}

static void assert_done(json_t *vj, json_t *hj) {
    if (strcmp(jstr(vj, "run", "state"), "done") != 0 ||
        strcmp(jstr(hj, "run", "state"), "done") != 0)
        fail_msg("run: V %s (%s), H %s (%s)", jstr(vj, "run", "state"),
                 jstr(vj, "run", "error"), jstr(hj, "run", "state"),
                 jstr(hj, "run", "error"));
}

static json_int_t jint(json_t *o, const char *a, const char *b) {
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

typedef struct log_scan {
    const char *run;
    int runs, partners, shares;
} log_scan;

static int scan_entry(void *data, const ent_actlog_entry *e,
                      const uint8_t *raw, size_t len) {
    log_scan *s = data;
    if (e->kind == ENT_LOG_PARTNER_ADDED)
        s->partners++;
    if (e->kind == ENT_LOG_OVERLAP_SHARE)
        s->shares++;
    if (e->kind == ENT_LOG_OVERLAP_RUN && strstr(e->reason, s->run) != NULL)
        s->runs++;
    return 0;
}

static int scan_fn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, scan_entry, data);
}

static log_scan scan_log(ent_node *n, const char *run) {
    log_scan s = {run, 0, 0, 0};
    assert_int_equal(ent_store_read(ent_node_store(n), scan_fn, &s), ENT_OK);
    return s;
}

/* Whether the file at path holds needle (bytes). */
static bool file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 20, n = 0, k;
    char *buf = malloc(cap);
    while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    bool yes = memmem(buf, n, needle, strlen(needle)) != NULL;
    free(buf);
    return yes;
}

static void test_overlap(void **state) {
    world *w = *state;
    json_t *vj, *hj;
    char err[256], run0[33];
    /* consent recorded on both sides */
    assert_true(ent_peers_is_partner(vp(w), horg(w)));
    assert_true(ent_peers_is_partner(hp(w), vorg(w)));
    assert_int_equal(scan_log(w->v, "-").partners, 1);
    assert_int_equal(scan_log(w->h, "-").partners, 1);

    /* V: 0..39 and the canary; H: 30..59: 10 in common */
    add_accounts(w->v, 0, 40, 3, true);
    add_accounts(w->h, 30, 60, 5, false);

    /* nothing shared yet: refused locally */
    assert_int_equal(ent_overlap_run(vo(w), horg(w), run0, err, sizeof(err)),
                     ENT_EDENIED);
    assert_non_null(strstr(err, "shares nothing"));
    /* V shares, H not yet: H refuses, both log the run */
    assert_int_equal(ent_overlap_share(vo(w), horg(w), ENT_OVERLAP_FLAGS, 0,
                                       ENT_ACCOUNT_CUSTOMER),
                     ENT_OK);
    run_once(w, &vj, &hj);
    assert_string_equal(jstr(vj, "run", "state"), "failed");
    assert_non_null(strstr(jstr(vj, "run", "error"), "shares nothing"));
    assert_true(json_is_null(json_object_get(vj, "result")));
    json_decref(vj);
    json_decref(hj);
    assert_int_equal(scan_log(w->v, w->run).runs, 1);
    assert_int_equal(scan_log(w->h, w->run).runs, 1);

    /* H shares counts: counts governs, nobody learns which */
    assert_int_equal(
        ent_overlap_share(ho(w), vorg(w), ENT_OVERLAP_COUNTS, 0, 0), ENT_OK);
    run_once(w, &vj, &hj);
    assert_done(vj, hj);
    assert_string_equal(jstr(vj, "result", "level"), "counts");
    assert_int_equal(jint(vj, "result", "matches"), 10);
    assert_int_equal(jint(hj, "result", "matches"), 10);
    assert_int_equal(jint(hj, "result", "mine"), 30);
    assert_int_equal(jint(hj, "result", "partner_bucket"), ent_psi_bucket(41));
    assert_null(json_object_get(json_object_get(vj, "result"), "accounts"));
    assert_null(json_object_get(json_object_get(hj, "result"), "accounts"));
    json_decref(vj);
    json_decref(hj);
    /* the same run id in both logs */
    assert_int_equal(scan_log(w->v, w->run).runs, 1);
    assert_int_equal(scan_log(w->h, w->run).runs, 1);

    /* H: flags, customer and opportunity; V reveals customer only */
    assert_int_equal(ent_overlap_share(ho(w), vorg(w), ENT_OVERLAP_FLAGS, 0,
                                       ENT_ACCOUNT_CUSTOMER |
                                           ENT_ACCOUNT_OPPORTUNITY),
                     ENT_OK);
    run_once(w, &vj, &hj);
    assert_done(vj, hj);
    assert_string_equal(jstr(vj, "result", "level"), "flags");
    json_t *va = json_object_get(json_object_get(vj, "result"), "accounts");
    json_t *ha = json_object_get(json_object_get(hj, "result"), "accounts");
    assert_int_equal(json_array_size(va), 10);
    assert_int_equal(json_array_size(ha), 10);
    size_t i;
    json_t *a;
    json_array_foreach(va, i, a) {
        const char *dom = json_string_value(json_object_get(a, "domain"));
        int k = -1;
        assert_int_equal(sscanf(dom, "company%d.example", &k), 1);
        assert_true(k >= 30 && k < 40);
        /* H's flags for k: customer when k % 5 == 0; only "customer" is
         * revealed (V's mask), never H's "opportunity" */
        json_t *pf = json_object_get(a, "partner_flags");
        assert_int_equal(json_array_size(pf), k % 5 == 0 ? 1 : 0);
        if (k % 5 == 0)
            assert_string_equal(json_string_value(json_array_get(pf, 0)),
                                "customer");
    }
    json_array_foreach(ha, i, a) {
        json_t *pf = json_object_get(a, "partner_flags");
        const char *dom = json_string_value(json_object_get(a, "domain"));
        int k = -1;
        assert_int_equal(sscanf(dom, "company%d.example", &k), 1);
        assert_int_equal(json_array_size(pf), k % 3 == 0 ? 1 : 0);
    }
    /* the canary is nowhere in H's result, nor in H's database */
    char *htext = json_dumps(hj, 0);
    assert_null(strstr(htext, "zyxqorp"));
    assert_null(strstr(htext, "Zyxqorp"));
    free(htext);
    json_decref(vj);
    json_decref(hj);

    /* positive control, then the canary check on H's file */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/db/data.mdb", w->home[0]);
    assert_true(file_has(path, CANARY_DOMAIN));
    snprintf(path, sizeof(path), "%s/db/data.mdb", w->home[1]);
    assert_false(file_has(path, CANARY_DOMAIN));
    assert_false(file_has(path, "zyxqorp"));

    /* V's own list changes by more than a quarter: V refuses itself */
    add_accounts(w->v, 100, 130, 3, false);
    assert_int_equal(ent_overlap_run(vo(w), horg(w), run0, err, sizeof(err)),
                     ENT_ELIMIT);
    assert_non_null(strstr(err, "changed"));
    /* sharing again accepts it */
    assert_int_equal(ent_overlap_share(vo(w), horg(w), ENT_OVERLAP_ACCOUNTS,
                                       0, 0),
                     ENT_OK);
    /* H revokes: refused */
    assert_int_equal(ent_overlap_share(ho(w), vorg(w), ENT_OVERLAP_NONE, 0, 0),
                     ENT_OK);
    run_once(w, &vj, &hj);
    assert_string_equal(jstr(vj, "run", "state"), "failed");
    json_decref(vj);
    json_decref(hj);
    assert_true(scan_log(w->h, "-").shares >= 3);

    /* H shares again: a run that records the sizes */
    assert_int_equal(ent_overlap_share(ho(w), vorg(w), ENT_OVERLAP_ACCOUNTS,
                                       0, 0),
                     ENT_OK);
    run_once(w, &vj, &hj);
    assert_done(vj, hj);
    assert_int_equal(jint(vj, "result", "matches"), 10);
    json_decref(vj);
    json_decref(hj);
    /* H's list grows: H accepts its own change (shares again), but V sees
     * H's size jump against the last run */
    add_accounts(w->h, 200, 260, 5, false); /* 30 -> 90: buckets 64 -> 96 */
    assert_int_equal(ent_overlap_share(ho(w), vorg(w), ENT_OVERLAP_ACCOUNTS,
                                       0, 0),
                     ENT_OK);
    run_once(w, &vj, &hj);
    assert_string_equal(jstr(vj, "run", "state"), "failed");
    assert_non_null(strstr(jstr(vj, "run", "error"), "changed size"));
    json_decref(vj);
    json_decref(hj);
    /* V shares again (accepting it); now the matches churn: V holds
     * 100..129 and H does not, but H adds 100..129 (30 new matches of
     * V's, against 10 before): V keeps the result and suspends */
    add_accounts(w->h, 100, 130, 5, false);
    assert_int_equal(ent_overlap_share(ho(w), vorg(w), ENT_OVERLAP_ACCOUNTS,
                                       0, 0),
                     ENT_OK);
    assert_int_equal(ent_overlap_share(vo(w), horg(w), ENT_OVERLAP_ACCOUNTS,
                                       0, 0),
                     ENT_OK);
    run_once(w, &vj, &hj);
    assert_done(vj, hj);
    assert_int_equal(jint(vj, "result", "matches"), 40);
    assert_true(json_is_true(json_object_get(json_object_get(vj, "result"),
                                             "suspended")));
    assert_true(json_is_true(json_object_get(json_object_get(vj, "share"),
                                             "suspended")));
    json_decref(vj);
    json_decref(hj);
    assert_int_equal(ent_overlap_run(vo(w), horg(w), run0, err, sizeof(err)),
                     ENT_EDENIED);
    assert_non_null(strstr(err, "suspended"));
    /* the day's runs are counted (those that got past OPEN/ACCEPT): with a
     * limit of what V has done so far, the next one is refused */
    assert_int_equal(ent_overlap_share(vo(w), horg(w), ENT_OVERLAP_ACCOUNTS,
                                       0, 0),
                     ENT_OK);
    json_t *cj = NULL;
    assert_int_equal(ent_overlap_json(vo(w), horg(w), &cj), ENT_OK);
    json_int_t today = json_integer_value(json_object_get(cj, "runs_today"));
    json_decref(cj);
    assert_int_equal(today, 4);
    ent_overlap_limits lim = {.runs_per_day = (uint32_t)today};
    ent_overlap_set_limits(vo(w), &lim);
    assert_int_equal(ent_overlap_run(vo(w), horg(w), run0, err, sizeof(err)),
                     ENT_ELIMIT);
    assert_non_null(strstr(err, "today"));
}

static bool z_ready(world *w) { return w->z.hellos > 0 || w->z.closed; }
static bool z_answered(world *w) { return w->z.errors > 0 || w->z.closed; }

/* OVERLAP from an org that is a fellow member but no partner: refused with
 * ERROR DENIED, the session stays, nothing is run or logged. */
static void test_not_partner(void **state) {
    world *w = *state;
    uint8_t obj[32];
    ent_obj_input in[1] = {{"name", "Joint deal", false}};
    node_create(w->v, "opportunity", in, 1, obj);
    bpeer_open(w, &w->z, 0xA7, false);
    memcpy(w->z.v_org, vorg(w), 32);
    node_add_member(w->v, obj, &w->z.t, false);
    bpeer_connect(&w->z, w->v, "mallory", 5000);
    assert_true(run_until(w, z_ready, 5000));
    assert_false(w->z.closed);
    assert_false(ent_peers_is_partner(vp(w), tnode_pk(&w->z.t)));
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OVERLAP;
    m.u.overlap.kind = 1; /* OPEN */
    m.u.overlap.a = ENT_OVERLAP_FLAGS;
    m.u.overlap.b = 64;
    bpeer_send(&w->z, &m);
    assert_true(run_until(w, z_answered, 5000));
    assert_int_equal(w->z.last_err, ENT_WIRE_C_DENIED);
    assert_false(w->z.closed);
    json_t *j = NULL;
    assert_int_equal(ent_overlap_json(vo(w), tnode_pk(&w->z.t), &j),
                     ENT_ENOENT);
    assert_int_equal(scan_log(w->v, "run=").runs, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overlap, setup, nodes_teardown),
        cmocka_unit_test_setup_teardown(test_not_partner, setup,
                                        nodes_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
