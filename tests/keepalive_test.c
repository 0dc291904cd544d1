/*
 * keepalive_test.c - sessions between nodes stay up while idle, and a peer
 * that breaks the protocol is scored down (issue 5; spec/sessions.md
 * "Keepalive" and "Scoring").
 *
 * One loop, 127.0.0.1 port 0. V and H are real nodes; H joins V's object O
 * through an invite. Both session managers run with a 1 s idle timeout (ten
 * keepalives: room for a loaded machine to stall the one loop)
 * and both peer layers with a 100 ms keepalive ($ENTENTE_KEEPALIVE_MS);
 * $ENTENTE_SYNC_MS is an hour, so nothing but PING/PONG crosses an idle
 * session.
 *   1. Keepalive: V-H stays connected over 3 idle-timeout periods (no idle
 *      drop, no new session); control: with the keepalive off, the same
 *      session is dropped by the idle timeout.
 *   2. Scoring: Z, a member of O with a bare session manager, sends HELLO
 *      then bytes that are no wire message: V drops it (violations + 1),
 *      Z's peers record gets failures + 1 and score 1 (shown in the peers
 *      JSON) and a redial backoff; a second violation raises the score and
 *      the backoff. H's session is untouched and H's edit still reaches V.
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
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "nodes_fixture.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define WAIT_MS 20000
#define IDLE_MS 1000
#define KEEPALIVE_MS 100
#define DIAL_BASE_MS 100

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32]; /* O */
    bpeer z;
    uint64_t idle_drops0; /* idle drops of V and H before the control */
    uint64_t opened0;     /* V's sessions opened before the control */
} world;

#define NODES_WORLD
#include "nodes_fixture.h"

static bool vh_connected(world *w) {
    return ent_peers_connected(vp(w), horg(w)) > 0 &&
           ent_peers_connected(hp(w), vorg(w)) > 0;
}

/* V's open session with H (NULL: none). */
static const conn *h_conn(world *w) {
    for (const conn *c = vp(w)->conns; c != NULL; c = c->next)
        if (c->open && !c->closing && c->has_org &&
            memcmp(c->org, horg(w), 32) == 0)
            return c;
    return NULL;
}

static bool vh_reconnected(world *w) {
    return peers_stats(w->v).sessions_opened > w->opened0 && vh_connected(w);
}

/* Idle drops of V and H together. */
static uint64_t idle_drops(world *w) {
    return session_stats(w->v).drop_idle + session_stats(w->h).drop_idle;
}

static bool some_idle_drop(world *w) { return idle_drops(w) > w->idle_drops0; }

/* ---- Z, a member that breaks the protocol --------------------------------- */

static bool z_gone(world *w) { return w->z.s == NULL; }

/* Dials V, says HELLO, then sends bytes that decode to no message. */
static void z_misbehave(world *w) {
    bpeer *z = &w->z;
    static const uint8_t junk[] = {0xc1, 0xc1, 0xc1, 0xff, 0x00, 0x13};
    bpeer_connect(z, w->v, "zed", WAIT_MS);
    run_for(w, 50); /* V handles the HELLO: Z is in its table */
    assert_non_null(ent__peers_find(vp(w), tnode_pk(&z->t)));
    bpeer_send_raw(z, junk, sizeof(junk));
    assert_true(run_until(w, z_gone, WAIT_MS));
}

static json_t *peer_json(world *w, const uint8_t org[32]) {
    json_t *arr = NULL, *found = NULL;
    char want[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(want, org);
    assert_int_equal(ent_peers_list_json(vp(w), &arr), ENT_OK);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        if (strcmp(json_string_value(json_object_get(o, "org")), want) == 0)
            found = json_incref(o);
    }
    json_decref(arr);
    assert_non_null(found);
    return found;
}

/* ---- setup -------------------------------------------------------------------- */

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    char num[16];
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "3600000", 1); /* no HAVE/DIGEST when idle */
    snprintf(num, sizeof(num), "%d", DIAL_BASE_MS);
    setenv("ENTENTE_DIAL_BASE_MS", num, 1);
    snprintf(num, sizeof(num), "%d", KEEPALIVE_MS);
    setenv("ENTENTE_KEEPALIVE_MS", num, 1);
    static const char *const names[2] = {"Vance", "Holt"};
    nodes_open(w, "/tmp", "keepalive", ENT_LOG_OFF, names, 2);
    /* the environment reached the peer layer */
    assert_int_equal(vp(w)->keepalive_ms, KEEPALIVE_MS);
    assert_int_equal(hp(w)->keepalive_ms, KEEPALIVE_MS);
    /* short idle timeout, before any session opens (hostile_test.c) */
    ent_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.idle_timeout_ms = IDLE_MS;
    ent_session_mgr_set_config(vp(w)->mgr, &cfg);
    ent_session_mgr_set_config(hp(w)->mgr, &cfg);

    ent_obj_input in[2] = {{"name", "Quiet deal", false},
                           {"next_step", "kickoff", false}};
    node_create(w->v, "opportunity", in, 2, w->obj);
    nodes_join(w, w->obj, WAIT_MS);
    assert_int_equal(w->jid, 1);
    assert_true(run_until(w, vh_connected, WAIT_MS));

    /* Z: a member of O (V added it), with a bare session manager */
    bpeer_open(w, &w->z, 0x5a, false);
    node_add_member(w->v, w->obj, &w->z.t, false);
    *state = w;
    return 0;
}


/* ---- 1. keepalive ---------------------------------------------------------- */

static void test_idle_sessions_stay_up(void **state) {
    world *w = *state;
    assert_true(vh_connected(w));
    ent_session_stats v0 = session_stats(w->v), h0 = session_stats(w->h);
    ent_peers_stats pv0 = peers_stats(w->v), ph0 = peers_stats(w->h);
    run_for(w, 3 * IDLE_MS);
    assert_true(vh_connected(w));
    assert_int_equal(session_stats(w->v).drop_idle, v0.drop_idle);
    assert_int_equal(session_stats(w->h).drop_idle, h0.drop_idle);
    assert_int_equal(peers_stats(w->v).sessions_opened, pv0.sessions_opened);
    assert_int_equal(peers_stats(w->h).sessions_opened, ph0.sessions_opened);
    fprintf(stderr, "  V-H idle for %d ms (idle timeout %d ms, keepalive "
            "%d ms): still connected, no new session\n",
            3 * IDLE_MS, IDLE_MS, KEEPALIVE_MS);

    /* control: without the keepalive the idle timeout drops the session */
    vp(w)->keepalive_ms = 3600000;
    hp(w)->keepalive_ms = 3600000;
    w->idle_drops0 = idle_drops(w);
    w->opened0 = peers_stats(w->v).sessions_opened;
    uint64_t t0 = uv_now(&w->loop);
    assert_true(run_until(w, some_idle_drop, 10 * IDLE_MS));
    fprintf(stderr, "  keepalive off: idle drop after %llu ms\n",
            (unsigned long long)(uv_now(&w->loop) - t0));
    vp(w)->keepalive_ms = KEEPALIVE_MS;
    hp(w)->keepalive_ms = KEEPALIVE_MS;
    assert_true(run_until(w, vh_reconnected, WAIT_MS)); /* redialled */
}

/* ---- 2. scoring down a peer that breaks the protocol -------------------------- */

#define H_EDIT "from Holt, after the violations"

static bool h_edit_arrived(world *w) {
    return node_shows(w->v, w->obj, "next_step", H_EDIT);
}

static void test_violator_scored_down(void **state) {
    world *w = *state;
    assert_true(run_until(w, vh_connected, WAIT_MS));
    run_for(w, 500); /* redials after the control have settled */
    assert_true(vh_connected(w));
    const conn *hc0 = h_conn(w);
    ent_peers_stats pv0 = peers_stats(w->v), ph0 = peers_stats(w->h);
    const uint8_t *zorg = tnode_pk(&w->z.t);

    z_misbehave(w);
    assert_int_equal(peers_stats(w->v).violations, pv0.violations + 1);
    peer_ent *e = ent__peers_find(vp(w), zorg);
    assert_non_null(e);
    assert_int_equal(e->failures, 1);
    assert_int_equal(e->score, 1);
    uint64_t now = uv_now(&w->loop);
    /* backoff(failures + score = 2): base * 4 with jitter [1/2, 1] */
    assert_true(e->next_dial >= now + 2 * DIAL_BASE_MS - 50);
    uint64_t wait1 = e->next_dial - now;
    json_t *o = peer_json(w, zorg);
    assert_int_equal(json_integer_value(json_object_get(o, "failures")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "score")), 1);
    assert_false(json_is_true(json_object_get(o, "connected")));
    json_decref(o);

    /* again: the score and the backoff grow */
    z_misbehave(w);
    assert_int_equal(peers_stats(w->v).violations, pv0.violations + 2);
    e = ent__peers_find(vp(w), zorg);
    assert_int_equal(e->failures, 2);
    assert_int_equal(e->score, 2);
    now = uv_now(&w->loop);
    /* backoff(4): base * 16 with jitter [1/2, 1] */
    assert_true(e->next_dial >= now + 8 * DIAL_BASE_MS - 50);
    uint64_t wait2 = e->next_dial - now;
    fprintf(stderr, "  violator not redialled for %llu ms, then %llu ms\n",
            (unsigned long long)wait1, (unsigned long long)wait2);
    assert_true(wait2 > wait1);
    o = peer_json(w, zorg);
    assert_int_equal(json_integer_value(json_object_get(o, "score")), 2);
    json_decref(o);
    o = peer_json(w, horg(w));
    assert_int_equal(json_integer_value(json_object_get(o, "score")), 0);
    assert_true(json_is_true(json_object_get(o, "connected")));
    json_decref(o);

    /* H is unaffected: same session, not scored, its edit arrives */
    assert_true(vh_connected(w));
    assert_true(h_conn(w) == hc0);
    assert_int_equal(peers_stats(w->v).sessions_opened, pv0.sessions_opened + 2);
    assert_int_equal(peers_stats(w->h).sessions_opened, ph0.sessions_opened);
    assert_int_equal(peers_stats(w->h).violations, ph0.violations);
    assert_int_equal(ent__peers_find(vp(w), horg(w))->score, 0);
    node_set(w->h, w->obj, "next_step", H_EDIT);
    assert_true(run_until(w, h_edit_arrived, WAIT_MS));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_sessions_stay_up),
        cmocka_unit_test(test_violator_scored_down),
    };
    return cmocka_run_group_tests(tests, setup, nodes_teardown);
}
