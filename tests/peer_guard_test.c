/*
 * peer_guard_test.c - an outsider cannot take the session slots of a node
 * that has made an invite, and a peer that keeps breaking limits is
 * dropped and banned (node/peers/peer_guard.c; spec/sessions.md "Guests,
 * strikes and bans" and "Refusal summary").
 *
 * One loop, 127.0.0.1 port 0. V and H are real nodes; H joined V's object
 * O through an invite, so V holds an invite record and lets guests in.
 * Guests are orgs of their own, each with a bare session manager, that
 * dial V and then do what the test says. Z is a member of O with a bare
 * session manager.
 *   1. Flood: H is stopped; 256 guest sessions dial V in waves of 8, and
 *      each sends HELLO then PING (and PING again every 200 ms). V never
 *      holds more than 4 guests (the per-address cap: every guest comes
 *      from 127.0.0.1), its session count stays far from the manager's
 *      256, the guests that PING are closed and their address is banned.
 *      V edits O; H starts again, connects (a member, from the banned
 *      address) and receives the edit. V's log (captured) has one summary
 *      line per interval whose counts add up to every refusal, and no line
 *      of its own for any refusal.
 *   2. Caps: quiet guests (HELLO only) beyond 4 from one address are
 *      refused; with the per-address cap raised, beyond 16 in all.
 *   3. Deadline: a guest that says HELLO but no JOIN, and one that says
 *      nothing, are closed once the JOIN deadline passes, not before.
 *   4. Only JOIN: a guest that sends PING, or HAVE, is closed with ERROR
 *      DENIED (no PONG); a guest that sends a valid JOIN becomes a member
 *      and stays past the deadline.
 *   5. Bans: Z breaks the protocol 3 times: banned, its next dial refused
 *      in the handshake until the ban ends; 3 more: a ban twice as long.
 *      H's session is untouched.
 *   6. Throttle: Z pushes unrequested ops above the op rate without pause:
 *      V keeps pausing its reads, and once they were paused for the
 *      throttle limit it drops Z (ERROR LIMIT), a strike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "nodes_fixture.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define WAIT_MS 20000
#define NGUEST_KEYS 32 /* guest identities (managers) */
#define NGUESTS 256    /* guest sessions of the flood */
#define WAVE 8         /* dialled at once (the per-address handshake cap) */
#define LOG_MS 500     /* refusal summary interval in these tests */
#define MAX_LINES 4096

enum gmode { G_SILENT, G_HELLO, G_PING, G_HAVE, G_JOIN };

struct world;

/* One guest session. */
typedef struct gsess {
    struct world *w;
    ent_session *s;
    int mode;
    bool dialled, open, hello, closed;
    unsigned pongs, errors, join_ok;
    int32_t last_err;
    uint64_t opened_at, closed_at; /* loop ms */
} gsess;

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32]; /* O */
    bpeer z;
    ent_identity *gid[NGUEST_KEYS];
    ent_session_mgr *gmgr[NGUEST_KEYS];
    int gmgrs_open;
    gsess *gs;
    size_t ngs;
    ent_invite inv; /* G_JOIN: the invite a guest redeems */
    uv_timer_t pinger;
    bool pinger_on;
    /* V's log lines (INFO and up), while capturing */
    bool capture;
    char *lines[MAX_LINES];
    size_t nlines;
    ent_log hlog; /* H after its restart: not captured */
} world;

#define NODES_WORLD
#include "nodes_fixture.h"

static void capture(void *data, ent_log_level level, const char *line) {
    world *w = data;
    if (getenv("GUARD_TEST_LOG") != NULL)
        fprintf(stderr, "    | %s\n", line);
    if (w->capture && w->nlines < MAX_LINES)
        w->lines[w->nlines++] = strdup(line);
}

static void lines_free(world *w) {
    for (size_t i = 0; i < w->nlines; i++)
        free(w->lines[i]);
    w->nlines = 0;
}

/* ---- guests -----------------------------------------------------------------
 */

static void g_send(gsess *g, const ent_wire_msg *m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ent_wire_encode(m, &buf, &len), ENT_OK);
    if (g->s != NULL && !g->closed)
        ent_session_send(g->s, buf, len);
    free(buf);
}

static void g_ping(gsess *g) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_PING;
    ent_random(m.u.nonce, sizeof(m.u.nonce));
    g_send(g, &m);
}

/* What a guest does once V's HELLO is in. */
static void g_act(gsess *g) {
    world *w = g->w;
    ent_wire_msg m;
    if (g->mode == G_SILENT)
        return;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_HELLO;
    m.u.hello.version = ENT_WIRE_VERSION;
    snprintf(m.u.hello.name, sizeof(m.u.hello.name), "guest");
    g_send(g, &m);
    memset(&m, 0, sizeof(m));
    switch (g->mode) {
    case G_PING:
        g_ping(g);
        break;
    case G_HAVE:
        m.type = ENT_WIRE_HAVE;
        memcpy(m.u.summary.object, w->obj, 32);
        g_send(g, &m);
        break;
    case G_JOIN:
        m.type = ENT_WIRE_JOIN;
        memcpy(m.u.join.invite_id, w->inv.id, ENT_INVITE_ID_LEN);
        /* the proof binds the session and this guest's own org */
        assert_int_equal(
            ent_invite_proof(
                m.u.join.proof, &w->inv, ent_session_handshake_hash(g->s),
                ent_identity_public(w->gid[(size_t)(g - w->gs) % NGUEST_KEYS])),
            ENT_OK);
        snprintf(m.u.join.name, sizeof(m.u.join.name), "joiner");
        g_send(g, &m);
        break;
    default:
        break;
    }
}

static void g_established(ent_session *s, void *data) {
    gsess *g = ent_session_data(s);
    if (g == NULL)
        return;
    g->open = true;
    g->opened_at = uv_now(&g->w->loop);
}

static void g_message(ent_session *s, const uint8_t *msg, size_t len,
                      void *data) {
    gsess *g = ent_session_data(s);
    ent_wire_msg m;
    if (g == NULL || ent_wire_decode(&m, msg, len) != ENT_OK)
        return;
    if (m.type == ENT_WIRE_HELLO && !g->hello) {
        g->hello = true;
        g_act(g);
    } else if (m.type == ENT_WIRE_PONG) {
        g->pongs++;
    } else if (m.type == ENT_WIRE_ERROR) {
        g->errors++;
        g->last_err = m.u.error.code;
    } else if (m.type == ENT_WIRE_JOIN_OK) {
        g->join_ok++;
    }
    ent_wire_msg_clear(&m);
}

static void g_closed(ent_session *s, int reason, void *data) {
    gsess *g = ent_session_data(s);
    if (g == NULL)
        return;
    g->closed = true;
    g->closed_at = uv_now(&g->w->loop);
    g->s = NULL;
}

static void g_mgr_closed(ent_session_mgr *m, void *data) {
    ((world *)data)->gmgrs_open--;
}

/* NGUEST_KEYS guest orgs (random keys), each with a bare manager, and
 * room for n guest sessions. */
static void guests_new(world *w, size_t n) {
    ent_session_callbacks cb = {NULL, g_established, g_message, g_closed,
                                NULL};
    for (int i = 0; i < NGUEST_KEYS; i++) {
        uint8_t seed[ENT_SIG_SEED_LEN];
        ent_random(seed, sizeof(seed));
        assert_int_equal(ent_identity_from_seed(&w->gid[i], seed), ENT_OK);
        assert_int_equal(
            ent_session_mgr_new(&w->gmgr[i], &w->loop, w->gid[i], NULL, &cb, w),
            ENT_OK);
        w->gmgrs_open++;
    }
    w->gs = calloc(n, sizeof(*w->gs));
    assert_non_null(w->gs);
    w->ngs = n;
}

/* Dials guest session i (its key: i mod NGUEST_KEYS) with mode. */
static void g_dial(world *w, size_t i, int mode) {
    gsess *g = &w->gs[i];
    memset(g, 0, sizeof(*g));
    g->w = w;
    g->mode = mode;
    g->dialled = true;
    assert_int_equal(ent_session_dial(w->gmgr[i % NGUEST_KEYS],
                                      ent_node_listen(w->v), vorg(w), &g->s),
                     ENT_OK);
    ent_session_set_data(g->s, g);
}

static bool g_settled(const gsess *g) {
    return g->closed || g->hello;
}

static size_t settle_from, settle_to;
static bool wave_settled(world *w) {
    for (size_t i = settle_from; i < settle_to; i++)
        if (!g_settled(&w->gs[i]))
            return false;
    return true;
}

/* Dials guests [from, to) with mode and waits until each is in or out. */
static void g_dial_range(world *w, size_t from, size_t to, int mode) {
    for (size_t i = from; i < to; i++)
        g_dial(w, i, mode);
    settle_from = from;
    settle_to = to;
    assert_true(run_until(w, wave_settled, WAIT_MS));
}

static size_t g_count(world *w, bool (*f)(const gsess *g)) {
    size_t n = 0;
    for (size_t i = 0; i < w->ngs; i++)
        n += w->gs[i].dialled && f(&w->gs[i]);
    return n;
}
static bool g_in(const gsess *g) {
    return g->hello && !g->closed;
}
static bool g_refused(const gsess *g) {
    return g->closed && !g->hello;
}

static bool guests_gone(world *w) {
    for (size_t i = 0; i < w->ngs; i++)
        if (w->gs[i].dialled && !w->gs[i].closed)
            return false;
    return vp(w)->nguests == 0;
}

/* Closes every guest session and manager; the fixture's teardown follows. */
static int teardown(void **state) {
    world *w = *state;
    if (w->pinger_on) {
        uv_close((uv_handle_t *)&w->pinger, NULL);
        w->pinger_on = false;
    }
    for (size_t i = 0; i < w->ngs; i++)
        if (w->gs[i].s != NULL && !w->gs[i].closed)
            ent_session_close(w->gs[i].s, ENT_OK);
    for (int i = 0; i < NGUEST_KEYS; i++)
        if (w->gmgr[i] != NULL)
            ent_session_mgr_close(w->gmgr[i], g_mgr_closed, w);
    uv_update_time(&w->loop);
    uint64_t end = uv_now(&w->loop) + WAIT_MS;
    while (w->gmgrs_open > 0 && uv_now(&w->loop) < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    assert_int_equal(w->gmgrs_open, 0);
    for (int i = 0; i < NGUEST_KEYS; i++)
        ent_identity_free(w->gid[i]);
    free(w->gs);
    ent_invite_clear(&w->inv);
    w->capture = false;
    lines_free(w);
    return nodes_teardown(state);
}

/* ---- setup: V holds O, H joined it (V has an invite record), Z a member ----
 */

static bool vh_connected(world *w) {
    return ent_peers_connected(vp(w), horg(w)) > 0 &&
           ent_peers_connected(hp(w), vorg(w)) > 0;
}

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    unsetenv("ENTENTE_KEEPALIVE_MS");
    static const char *const names[2] = {"Vera", "Hugo"};
    nodes_open(w, "/tmp", "guard", ENT_LOG_OFF, names, 2);
    /* V's and H's log: INFO and up, captured on demand */
    w->log.level = ENT_LOG_INFO;
    w->log.sink = capture;
    w->log.data = w;
    ent_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.refusal_log_ms = LOG_MS;
    ent_session_mgr_set_config(vp(w)->mgr, &cfg);

    ent_obj_input in[2] = {{"name", "Guarded deal", false},
                           {"next_step", "kickoff", false}};
    node_create(w->v, "opportunity", in, 2, w->obj);
    nodes_join(w, w->obj, WAIT_MS);
    assert_true(run_until(w, vh_connected, WAIT_MS));
    /* Z: a member of O (V added it), with a bare session manager */
    bpeer_open(w, &w->z, 0x5a, false);
    node_add_member(w->v, w->obj, &w->z.t, false);
    *state = w;
    return 0;
}

/* ---- 1. the flood ----------------------------------------------------------
 */

static void on_ping_timer(uv_timer_t *t) {
    world *w = t->data;
    for (size_t i = 0; i < w->ngs; i++)
        if (w->gs[i].dialled && g_in(&w->gs[i]) && w->gs[i].mode == G_PING)
            g_ping(&w->gs[i]);
}

static void h_stopped(ent_node *n, void *data) {
    ((world *)data)->stopped++;
}
static bool h_is_stopped(world *w) {
    return w->stopped == 1;
}

#define FLOOD_EDIT "edited during the flood"

static bool h_has_edit(world *w) {
    return node_shows(w->h, w->obj, "next_step", FLOOD_EDIT);
}

static void test_guest_flood(void **state) {
    world *w = *state;

    /* H goes away: it will come back as a member while V is flooded */
    ent_node_stop(w->h, h_stopped, w);
    assert_true(run_until(w, h_is_stopped, WAIT_MS));
    ent_node_free(w->h);
    w->h = NULL;
    w->stopped = 0;
    run_until(w, never, LOG_MS + 100); /* V's earlier summaries are out */

    guests_new(w, NGUESTS);
    uv_timer_init(&w->loop, &w->pinger);
    w->pinger.data = w;
    w->pinger_on = true;
    uv_timer_start(&w->pinger, on_ping_timer, 200, 200);

    ent_session_stats s0 = session_stats(w->v);
    ent_peers_stats p0 = peers_stats(w->v);
    w->capture = true;
    uv_update_time(&w->loop);
    uint64_t t0 = uv_now(&w->loop);
    size_t max_guests = 0;
    uint64_t max_sessions = 0;
    for (size_t i = 0; i < NGUESTS; i += WAVE) {
        g_dial_range(w, i, i + WAVE, G_PING);
        run_until(w, never, 20); /* their PINGs arrive */
        if (vp(w)->nguests > max_guests)
            max_guests = vp(w)->nguests;
        if (session_stats(w->v).sessions > max_sessions)
            max_sessions = session_stats(w->v).sessions;
    }
    run_until(w, never, 300);
    ent_session_stats s1 = session_stats(w->v);
    ent_peers_stats p1 = peers_stats(w->v);
    fprintf(stderr,
            "  %d guest sessions in %llu ms: %zu let in at some point, at most "
            "%zu at once (V: %llu sessions at most), %llu closed, %llu "
            "refused, %llu bans\n",
            NGUESTS, (unsigned long long)(uv_now(&w->loop) - t0),
            (size_t)(p1.guests_admitted - p0.guests_admitted), max_guests,
            (unsigned long long)max_sessions,
            (unsigned long long)(p1.guests_closed - p0.guests_closed),
            (unsigned long long)(s1.refused - s0.refused),
            (unsigned long long)(p1.bans - p0.bans));
    /* guests never took more than their own small share */
    assert_true(max_guests <= ENT_PEERS_MAX_GUESTS_PER_ADDR);
    assert_true(max_sessions < 64);
    assert_true(p1.guests_admitted - p0.guests_admitted <
                ENT_PEERS_BAN_STRIKES + ENT_PEERS_MAX_GUESTS_PER_ADDR);
    /* the ones let in were closed for their PING (ERROR DENIED) or by the
     * ban (ERROR LIMIT), and never got a PONG */
    for (size_t i = 0; i < NGUESTS; i++)
        if (w->gs[i].hello) {
            assert_true(w->gs[i].closed);
            assert_int_equal(w->gs[i].pongs, 0);
            assert_true(w->gs[i].last_err == ENT_WIRE_C_DENIED ||
                        w->gs[i].last_err == ENT_WIRE_C_LIMIT);
        }
    assert_int_equal(g_count(w, g_in), 0);
    assert_true(p1.guests_closed - p0.guests_closed >= ENT_PEERS_BAN_STRIKES);
    /* 127.0.0.1 is banned as a guest address: the rest were refused */
    assert_true(p1.bans > p0.bans);
    assert_true(p1.banned_refused - p0.banned_refused >= NGUESTS / 2);
    assert_int_equal(g_count(w, g_refused),
                     NGUESTS - (p1.guests_admitted - p0.guests_admitted));

    /* V moves on; H, a member, connects from the banned address and syncs */
    node_set(w->v, w->obj, "next_step", FLOOD_EDIT);
    ent_log_init(&w->hlog, ENT_LOG_OFF, "guard-h");
    node_open(&w->h, &w->loop, w->home[1], &w->hlog);
    assert_int_equal(ent_node_start(w->h, NULL), ENT_OK);
    assert_true(run_until(w, h_has_edit, WAIT_MS));
    assert_true(vh_connected(w));

    /* the log: one summary line per interval, adding up to every refusal,
     * and no line for any refusal on its own */
    run_until(w, never, LOG_MS + 200); /* the last interval ends */
    ent_session_stats s2 = session_stats(w->v);
    uint64_t elapsed = uv_now(&w->loop) - t0, summed = 0;
    size_t nsum = 0, nban = 0;
    w->capture = false;
    for (size_t i = 0; i < w->nlines; i++) {
        const char *l = w->lines[i], *at = strstr(l, "session: refused ");
        unsigned long long n = 0;
        if (at != NULL) {
            assert_int_equal(sscanf(at, "session: refused %llu", &n), 1);
            summed += n;
            nsum++;
            if (nsum <= 3)
                fprintf(stderr, "  log: %s\n", at);
            continue;
        }
        if (strstr(l, "peers: banning") != NULL) {
            nban++;
            continue;
        }
        if (strstr(l, "refused") || strstr(l, "denied") || strstr(l, "guest") ||
            strstr(l, "not authorized")) {
            fprintf(stderr, "  a refusal on its own line: %s\n", l);
            fail();
        }
    }
    fprintf(stderr,
            "  %zu summary lines in %llu ms (interval %d ms) for %llu "
            "refusals; %zu lines in all\n",
            nsum, (unsigned long long)elapsed, LOG_MS,
            (unsigned long long)(s2.refused - s0.refused), w->nlines);
    assert_true(nsum >= 1);
    assert_int_equal(nban, p1.bans - p0.bans);
    assert_true(nsum <= elapsed / LOG_MS + 1);
    assert_int_equal(summed, s2.refused - s0.refused);
    assert_true(s2.refused - s0.refused >= NGUESTS - 8);
    assert_true(w->nlines < 40);
}

/* ---- 2. caps
 * ------------------------------------------------------------------ */

static void test_guest_caps(void **state) {
    world *w = *state;
    ent_peers_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.guest_join_ms = 60000;
    ent_peers_set_limits(vp(w), &lim);
    guests_new(w, 24);

    /* one address: 4 guests, then refused */
    ent_peers_stats p0 = peers_stats(w->v);
    ent_session_stats s0 = session_stats(w->v);
    for (size_t i = 0; i < 6; i++)
        g_dial_range(w, i, i + 1, G_HELLO);
    assert_int_equal(g_count(w, g_in), ENT_PEERS_MAX_GUESTS_PER_ADDR);
    assert_int_equal(vp(w)->nguests, ENT_PEERS_MAX_GUESTS_PER_ADDR);
    assert_int_equal(peers_stats(w->v).guests_refused - p0.guests_refused, 2);
    assert_int_equal(session_stats(w->v).drop_unauthorized - s0.drop_unauthorized, 2);
    assert_true(w->gs[4].closed && !w->gs[4].hello);
    /* a member still comes in: H's session is there, Z dials */
    assert_true(vh_connected(w));
    assert_true(bpeer_dial(&w->z, w->v, WAIT_MS));
    assert_int_equal(w->z.hellos, 1);

    /* all of them leave; the per-address cap rises: 16 in all */
    for (size_t i = 0; i < 6; i++)
        if (w->gs[i].s != NULL)
            ent_session_close(w->gs[i].s, ENT_OK);
    assert_true(run_until(w, guests_gone, WAIT_MS));
    lim.max_guests_per_addr = 64;
    ent_peers_set_limits(vp(w), &lim);
    p0 = peers_stats(w->v);
    for (size_t i = 6; i < 24; i++)
        g_dial_range(w, i, i + 1, G_HELLO);
    assert_int_equal(vp(w)->nguests, ENT_PEERS_MAX_GUESTS);
    assert_int_equal(peers_stats(w->v).guests_refused - p0.guests_refused, 2);
    assert_int_equal(peers_stats(w->v).guests_admitted - p0.guests_admitted,
                     ENT_PEERS_MAX_GUESTS);
    json_t *j = NULL;
    assert_int_equal(ent_peers_sessions_json(vp(w), &j), ENT_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "guests")),
                     ENT_PEERS_MAX_GUESTS);
    assert_true(json_integer_value(json_object_get(j, "refused")) >= 4);
    assert_int_equal(json_integer_value(json_object_get(j, "banned")), 0);
    json_decref(j);
}

/* ---- 3. the JOIN deadline
 * -------------------------------------------------------- */

static bool two_closed(world *w) {
    return w->gs[0].closed && w->gs[1].closed;
}

static void test_guest_deadline(void **state) {
    world *w = *state;
    ent_peers_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.guest_join_ms = 400;
    ent_peers_set_limits(vp(w), &lim);
    guests_new(w, 2);
    ent_peers_stats p0 = peers_stats(w->v);
    g_dial_range(w, 0, 1, G_HELLO);
    g_dial(w, 1, G_SILENT);
    run_until(w, never, 250);
    assert_false(w->gs[0].closed);
    assert_false(w->gs[1].closed);
    assert_int_equal(vp(w)->nguests, 2);
    assert_true(run_until(w, two_closed, WAIT_MS));
    for (int i = 0; i < 2; i++) {
        uint64_t took = w->gs[i].closed_at - w->gs[i].opened_at;
        fprintf(stderr, "  guest %d (%s) closed %llu ms after the open\n", i,
                i ? "silent" : "HELLO only", (unsigned long long)took);
        assert_true(took >= 350 && took < 3000);
        assert_int_equal(w->gs[i].last_err, ENT_WIRE_C_DENIED);
    }
    assert_int_equal(peers_stats(w->v).guests_closed - p0.guests_closed, 2);
    assert_int_equal(peers_stats(w->v).strikes - p0.strikes, 2);
    assert_int_equal(vp(w)->nguests, 0);
}

/* ---- 4. a guest may only JOIN
 * ------------------------------------------------------ */

static bool g2_done(world *w) {
    return w->gs[2].join_ok > 0 || w->gs[2].closed;
}

static void test_guest_only_join(void **state) {
    world *w = *state;
    ent_peers_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.guest_join_ms = 400;
    ent_peers_set_limits(vp(w), &lim);
    guests_new(w, 3);
    ent_peers_stats p0 = peers_stats(w->v);

    g_dial_range(w, 0, 1, G_PING);
    g_dial_range(w, 1, 2, G_HAVE);
    assert_true(run_until(w, two_closed, WAIT_MS));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w->gs[i].last_err, ENT_WIRE_C_DENIED);
        assert_true(w->gs[i].closed_at - w->gs[i].opened_at < 300);
    }
    assert_int_equal(w->gs[0].pongs, 0);
    assert_int_equal(peers_stats(w->v).denied - p0.denied, 2);
    assert_int_equal(peers_stats(w->v).guests_closed - p0.guests_closed, 2);

    /* a guest with a real invite joins and is a member from then on */
    char *token = NULL, iid[33];
    uint64_t expiry;
    assert_int_equal(ent_peers_invite(vp(w), w->obj, ENT_ROLE_MEMBER, 3600,
                                      &token, &expiry, iid),
                     ENT_OK);
    assert_int_equal(ent_invite_token_parse(token, strlen(token), &w->inv),
                     ENT_OK);
    free(token);
    g_dial(w, 2, G_JOIN);
    assert_true(run_until(w, g2_done, WAIT_MS));
    assert_int_equal(w->gs[2].join_ok, 1);
    assert_int_equal(peers_stats(w->v).joins_ok - p0.joins_ok, 1);
    assert_int_equal(vp(w)->nguests, 0);
    run_until(w, never, 800); /* twice the guest deadline */
    assert_false(w->gs[2].closed);
    assert_int_equal(peers_stats(w->v).guests_closed - p0.guests_closed, 2);
}

/* ---- 5. bans
 * ---------------------------------------------------------------------- */

static bool z_gone(world *w) {
    return w->z.s == NULL;
}

/* Z dials V: true if V let it in (its HELLO came). */
static bool z_dial(world *w) {
    assert_true(bpeer_dial(&w->z, w->v, WAIT_MS));
    if (w->z.hellos == 0) {
        assert_true(run_until(w, z_gone, WAIT_MS));
        return false;
    }
    return true;
}

/* Z, let in, says HELLO and then sends bytes that are no message. */
static void z_violate(world *w) {
    static const uint8_t junk[] = {0xc1, 0xc1, 0xc1};
    assert_true(z_dial(w));
    bpeer_hello(&w->z, "zed");
    bpeer_send_raw(&w->z, junk, sizeof(junk));
    assert_true(run_until(w, z_gone, WAIT_MS));
}

static const guard_ent *z_guard(world *w) {
    for (size_t i = 0; i < ENT_PEERS_MAX_GUARDS; i++) {
        const guard_ent *g = &vp(w)->guards[i];
        if (g->used && !g->is_addr &&
            memcmp(g->org, tnode_pk(&w->z.t), 32) == 0)
            return g;
    }
    return NULL;
}

static uint64_t ban_left(world *w) {
    const guard_ent *g = z_guard(w);
    uint64_t now = uv_now(&w->loop);
    return g != NULL && g->banned_until > now ? g->banned_until - now : 0;
}
static bool z_unbanned(world *w) {
    return ban_left(w) == 0;
}

static void test_ban(void **state) {
    world *w = *state;
    ent_peers_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.ban_ms = 600;
    ent_peers_set_limits(vp(w), &lim);
    const ent_peers_stats p0 = peers_stats(w->v);
    ent_peers_stats ph0 = peers_stats(w->h);
    w->capture = true;
    const conn *hc = NULL;
    for (const conn *c = vp(w)->conns; c != NULL; c = c->next)
        if (c->open && c->has_org && memcmp(c->org, horg(w), 32) == 0)
            hc = c;
    assert_non_null(hc);

    for (unsigned round = 1; round <= 2; round++) {
        ent_peers_stats r0 = peers_stats(w->v);
        for (int i = 0; i < ENT_PEERS_BAN_STRIKES; i++) {
            assert_int_equal(ban_left(w), 0);
            z_violate(w);
        }
        assert_int_equal(peers_stats(w->v).violations - r0.violations,
                         ENT_PEERS_BAN_STRIKES);
        assert_int_equal(peers_stats(w->v).bans - r0.bans, 1);
        uint64_t left = ban_left(w);
        fprintf(stderr, "  Z banned (round %u) for %llu ms\n", round,
                (unsigned long long)left);
        assert_true(left > (round == 1 ? 300 : 900));
        assert_true(left <= (round == 1 ? 600 : 1200));
        /* while banned: refused in the handshake, no HELLO */
        ent_session_stats s0 = session_stats(w->v);
        assert_false(z_dial(w));
        assert_int_equal(session_stats(w->v).drop_unauthorized - s0.drop_unauthorized,
                         1);
        assert_int_equal(peers_stats(w->v).banned_refused - r0.banned_refused, 1);
        /* and V does not dial it either */
        peer_ent *e = ent__peers_find(vp(w), tnode_pk(&w->z.t));
        if (e != NULL)
            assert_true(e->next_dial >= z_guard(w)->banned_until);
        /* once the ban is over, Z comes in again */
        assert_true(run_until(w, z_unbanned, 3000));
        assert_true(z_dial(w));
        ent_session_close(w->z.s, ENT_OK);
        assert_true(run_until(w, z_gone, WAIT_MS));
    }
    assert_int_equal(peers_stats(w->v).bans - p0.bans, 2);
    /* H was never touched */
    const conn *hc2 = NULL;
    for (const conn *c = vp(w)->conns; c != NULL; c = c->next)
        if (c->open && c->has_org && memcmp(c->org, horg(w), 32) == 0)
            hc2 = c;
    assert_true(hc2 == hc);
    assert_int_equal(peers_stats(w->h).violations, ph0.violations);
    /* one line per ban */
    size_t nban = 0;
    for (size_t i = 0; i < w->nlines; i++)
        nban += strstr(w->lines[i], "peers: banning org") != NULL;
    assert_int_equal(nban, 2);
}

/* ---- 6. throttled again and again: dropped
 * ------------------------------------ */

typedef struct zflood {
    world *w;
    uint8_t *msg;
    size_t len;
    unsigned sent;
} zflood;

static zflood zf;

/* Keeps Z's send queue full of OPS (replayed ops of O) until Z is gone. */
static void on_zflood(uv_timer_t *t) {
    world *w = zf.w;
    while (w->z.s != NULL && zf.sent < 4000 &&
           ent_session_pending(w->z.s) < 256 * 1024 &&
           ent_session_send(w->z.s, zf.msg, zf.len) == ENT_OK)
        zf.sent++;
}

static bool z_dropped(world *w) {
    return w->z.s == NULL;
}

static void test_throttled_dropped(void **state) {
    world *w = *state;
    ent_peers_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.throttle_max_ms = 400;
    ent_peers_set_limits(vp(w), &lim);
    /* a few ops of O to replay */
    for (int i = 0; i < 8; i++) {
        char v[32];
        snprintf(v, sizeof(v), "step %d", i);
        node_set(w->v, w->obj, "next_step", v);
    }
    tops t = {0};
    assert_int_equal(
        ent_obj_ops_foreach(ent_node_objects(w->v), w->obj, tops_cb, &t),
        ENT_OK);
    /* OPS of 128 records: 16 messages a second are the op rate, far
     * below the frame rate */
    ent_wire_bytes b[128];
    for (size_t i = 0; i < 128; i++)
        b[i] = (ent_wire_bytes){t.raw[i % t.n], t.len[i % t.n]};
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OPS;
    memcpy(m.u.ops.object, w->obj, 32);
    m.u.ops.ops = b;
    m.u.ops.nops = 128;
    memset(&zf, 0, sizeof(zf));
    zf.w = w;
    assert_int_equal(ent_wire_encode(&m, &zf.msg, &zf.len), ENT_OK);
    tops_free(&t);

    assert_true(z_dial(w));
    bpeer_hello(&w->z, "zed");
    ent_peers_stats p0 = peers_stats(w->v);
    ent_session_stats s0 = session_stats(w->v);
    w->capture = true;
    uv_timer_init(&w->loop, &w->pinger);
    w->pinger.data = w;
    w->pinger_on = true;
    uv_timer_start(&w->pinger, on_zflood, 5, 5);
    uint64_t t0 = uv_now(&w->loop);
    assert_true(run_until(w, z_dropped, WAIT_MS));
    uint64_t took = uv_now(&w->loop) - t0;
    ent_peers_stats p1 = peers_stats(w->v);
    fprintf(stderr,
            "  Z pushed %u OPS of 128; V paused reading %llu times "
            "and dropped Z after %llu ms\n",
            zf.sent, (unsigned long long)(p1.rate_stops - p0.rate_stops),
            (unsigned long long)took);
    assert_true(p1.rate_stops - p0.rate_stops >= 2);
    assert_int_equal(p1.violations - p0.violations, 1);
    assert_int_equal(p1.strikes - p0.strikes, 1);
    assert_int_equal(w->z.last_err, ENT_WIRE_C_LIMIT);
    assert_int_equal(session_stats(w->v).drop_rate, s0.drop_rate); /* not the frames */
    assert_true(took >= 400);
    /* dropped by the throttle rule, not for a deficit of tokens */
    size_t n = 0;
    for (size_t i = 0; i < w->nlines; i++)
        n += strstr(w->lines[i], "ops rate, again and again") != NULL;
    assert_int_equal(n, 1);
    free(zf.msg);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN); /* as entente serve does (node/cli/cli.c) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_guest_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_only_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ban, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttled_dropped, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
