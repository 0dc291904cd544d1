/*
 * nodes_fixture.h - real nodes in one process, for the tests of the peer
 * layer (hostile_test.c, peer_test.c, keepalive_test.c, sync_progress_test.c,
 * peer_guard_test.c)
 * and of what a node does (invite_log_test.c, api_objects_test.c,
 * node_test.c).
 * It provides temporary homes made the way `entente init` makes them; one
 * or two nodes, V and H, opened on one uv loop with a 10 ms wake-up timer
 * and started on 127.0.0.1 port 0; run_until(), which runs that loop until
 * a condition holds or a deadline passes; objects created and edited on a
 * node with the op pushed to its peers; an invite of V's taken up by H; a
 * tnode (object_fixture.h) made a member of V's object; a bare peer (an
 * org with only a session manager on the loop) that dials a node, says
 * HELLO (with "acks/1" if asked) and sends hand-made messages; and the end of it all: the nodes
 * stopped and freed and the temporary folder removed. The unit tests call
 * ent_daemon_open(), ent_node_start() and ent_node_stop() only here, but
 * for node_test.c's own tests of them (bench/bench_sync.c and
 * fuzz/fuzz_api_json.c, which have no cmocka, call them too). Header-only
 * (static functions): each test stays one file.
 *
 * Included twice: first for the types, NODES_WORLD_FIELDS and the helpers
 * that need no world, with which the test defines its `world` (the common
 * fields, then its own); then, with NODES_WORLD defined, for the helpers
 * over that world:
 *
 *     #include "nodes_fixture.h"
 *     typedef struct world { NODES_WORLD_FIELDS; bpeer z; int mine; } world;
 *     #define NODES_WORLD
 *     #include "nodes_fixture.h"
 *
 * Setup calloc()s the world and calls nodes_open(); nodes_teardown() (or
 * nodes_free()) ends it.
 */
#ifndef ENT_TEST_NODES_FIXTURE_H
#define ENT_TEST_NODES_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <time.h>
#include <uv.h>

#include "object_fixture.h"

#include "node/daemon/daemon.h"
#include "node/home.h"
#include "node/node.h"
#include "node/peers/peer.h"
#include "node/peers/peer_int.h"
#include "protocol/addr_record.h"
#include "protocol/flow.h"
#include "protocol/session.h"
#include "protocol/wire.h"

#define NODES_MAX 2

#define NODES_WORLD_FIELDS                                                    \
    uv_loop_t loop;                                                           \
    uv_timer_t wake;                                                          \
    ent_log log;                                                              \
    char tmp[PATH_MAX];               /* holds the homes */                   \
    char home[NODES_MAX][PATH_MAX];                                           \
    ent_node *v, *h;                  /* h is NULL with one node */           \
    int nnodes, stopped;                                                      \
    uint64_t jid;                     /* H's join (nodes_join_start) */       \
    struct bpeer *bare                /* closed by nodes_free (bpeer_open) */

static inline uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs loop until pred(arg) holds or ms pass; returns pred(arg). */
static inline bool loop_run_until(uv_loop_t *loop, bool (*pred)(void *arg),
                                  void *arg, uint64_t ms) {
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + ms;
    while (!pred(arg) && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
    return pred(arg);
}

/* ---- homes and nodes ------------------------------------------------------ */

/* Makes the folder base/ent-TAG.XXXXXX into tmp. */
static inline void nodes_tmpdir(char tmp[PATH_MAX], const char *base,
                                const char *tag) {
    assert_true(snprintf(tmp, PATH_MAX, "%s/ent-%s.XXXXXX", base, tag) <
                PATH_MAX);
    assert_non_null(mkdtemp(tmp));
}

/* A fresh home tmp/DIR for the org name, listening on 127.0.0.1:0, made as
 * `entente init` makes it; org (may be NULL) gets its org id. */
static inline void node_home(char home[PATH_MAX], const char *tmp,
                             const char *dir, const char *name,
                             char org[ENT_ORG_ID_LEN + 1]) {
    char id[ENT_ORG_ID_LEN + 1];
    assert_true(snprintf(home, PATH_MAX, "%s/%s", tmp, dir) < PATH_MAX);
    assert_int_equal(ent_home_init(home, name, "127.0.0.1:0", NULL,
                                   org != NULL ? org : id),
                     ENT_OK);
}

/* Opens the node of home on loop (not started); log may be NULL. */
static inline void node_open(ent_node **n, uv_loop_t *loop, const char *home,
                             const ent_log *log) {
    assert_int_equal(ent_daemon_open(n, loop, home, log), ENT_OK);
}

/* ---- objects on a node ---------------------------------------------------- */

/* Creates an object of type with the n inputs on node nd and hands the op to
 * its peer layer; obj gets the id. */
static inline void node_create(ent_node *nd, const char *type,
                               const ent_obj_input *in, size_t n,
                               uint8_t obj[32]) {
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    assert_int_equal(ent_obj_create(ent_node_objects(nd), type, in, n, obj,
                                    &op, err, sizeof(err)),
                     ENT_OK);
    ent_node_op_created(nd, op);
}

/* Sets the shared text field of obj on node nd and pushes the op. */
static inline void node_set(ent_node *nd, const uint8_t obj[32],
                            const char *field, const char *text) {
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    ent_obj_input in = {field, text, false};
    assert_int_equal(ent_obj_set(ent_node_objects(nd), obj, &in, 1, &op, err,
                                 sizeof(err)),
                     ENT_OK);
    ent_node_op_created(nd, op);
}

/* Whether node nd shows text in the shared field of obj. */
static inline bool node_shows(ent_node *nd, const uint8_t obj[32],
                              const char *field, const char *text) {
    json_t *j = NULL;
    bool ok = false;
    if (ent_obj_show_json(ent_node_objects(nd), obj, true, &j) == ENT_OK) {
        const char *v = json_string_value(
            json_object_get(json_object_get(j, "shared"), field));
        ok = v != NULL && strcmp(v, text) == 0;
    }
    json_decref(j);
    return ok;
}

/*
 * Node nd adds t as a member of obj and pushes the op. With keys, t also
 * opens its key boxes and applies every op of obj that nd holds in its own
 * engine (its clock set to the wall clock, as nd's ops carry real HLCs), so
 * that t can make ops nd would accept.
 */
static inline void node_add_member(ent_node *nd, const uint8_t obj[32],
                                   tnode *t, bool keys) {
    ent_op *op = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    if (keys)
        t->now = wall_ms();
    assert_int_equal(ent_obj_add_member(ent_node_objects(nd), obj, tnode_pk(t),
                                        ENT_ROLE_MEMBER, &op, &boxes, &nboxes),
                     ENT_OK);
    ent_node_op_created(nd, op);
    if (keys) {
        assert_int_equal(ent_obj_accept_keys(t->eng, obj, boxes, nboxes),
                         ENT_OK);
        assert_int_equal(tnode_apply_from(t, ent_node_objects(nd), obj), 0);
    }
    free(boxes);
}

static inline ent_peers_stats peers_stats(ent_node *nd) {
    ent_peers_stats s;
    ent_peers_stats_get(ent_node_peers(nd), &s);
    return s;
}

static inline ent_session_stats session_stats(ent_node *nd) {
    ent_session_stats s;
    ent_session_mgr_stats(ent_node_peers(nd)->mgr, &s);
    return s;
}

static inline ent_obj_stats objects_stats(ent_node *nd) {
    ent_obj_stats s;
    ent_obj_stats_get(ent_node_objects(nd), &s);
    return s;
}

/* ---- the bare peer -------------------------------------------------------- */

/*
 * An org of its own (a tnode: identity, store, engine) with nothing but a
 * session manager on the loop: it dials a node, completes a real Noise
 * handshake and then sends what the test makes. It counts what it receives;
 * with ack_ops it answers every OPS with an empty ACK, which keeps the
 * node's in-flight window open.
 */
typedef struct bpeer {
    tnode t;
    uv_loop_t *loop;
    ent_session_mgr *mgr;
    ent_session *s; /* NULL: no session */
    bool ack_ops;
    bool acks_cap;  /* its HELLO says "acks/1" (spec/protocol.md §3.4) */
    bool recon_cap; /* ... and "recon/1" (spec/gossip.md §13) */
    bool flow_cap;  /* ... and "flow/1", and it keeps to its credit
                       (spec/protocol.md §3.9; set before bpeer_dial) */
    bool open, closed;
    int reason; /* of the last close */
    unsigned hellos, acks, errors, ops_in;
    unsigned op_recs_in; /* op records in those OPS */
    unsigned proofs_in; /* signed CONSISTENCY answers received */
    unsigned digests_in; /* DIGESTS messages received */
    unsigned ranges_in, leaves_in; /* RANGES and LEAF received */
    unsigned pongs;                /* PONG received */
    unsigned digest_reqs, vv_in;   /* DIGEST and VV received */
    unsigned addrs_recs; /* address records received in ADDRS */
    bool addrs_self;     /* one of them is v_org's own */
    bool addrs_other;    /* one of them is another org's */
    uint8_t v_org[32];   /* set by the test: the node it talks to */
    size_t last_ack_nids;
    unsigned acks_msgs; /* ACKS messages received */
    unsigned acked;     /* OPS answered: one per ACK, count per ACKS */
    int32_t last_err; /* code of the last ERROR received */
    unsigned chunk_wants_in, chunks_in; /* CHUNK_WANT and CHUNK received */
} bpeer;

static inline void bpeer_established(ent_session *s, void *data) {
    bpeer *p = data;
    if (s == p->s)
        p->open = true;
}

static inline void bpeer_ack(ent_session *s, const uint8_t obj[32]) {
    ent_wire_msg ack;
    uint8_t *buf = NULL;
    size_t len;
    memset(&ack, 0, sizeof(ack));
    ack.type = ENT_WIRE_ACK;
    memcpy(ack.u.ack.object, obj, 32);
    if (ent_wire_encode(&ack, &buf, &len) == ENT_OK)
        ent_session_send(s, buf, len);
    free(buf);
}

static inline void bpeer_message(ent_session *s, const uint8_t *msg,
                                 size_t len, void *data) {
    bpeer *p = data;
    ent_wire_msg m;
    if (ent_wire_decode(&m, msg, len) != ENT_OK)
        return;
    switch (m.type) {
    case ENT_WIRE_HELLO:
        p->hellos++;
        break;
    case ENT_WIRE_ACK:
        p->acks++;
        p->acked++;
        p->last_ack_nids = m.u.ack.nids;
        break;
    case ENT_WIRE_ACKS:
        p->acks_msgs++;
        p->acked += m.u.acks.count;
        break;
    case ENT_WIRE_ERROR:
        p->errors++;
        p->last_err = m.u.error.code;
        break;
    case ENT_WIRE_CONSISTENCY:
        p->proofs_in += m.u.cons.has_sig;
        break;
    case ENT_WIRE_DIGESTS:
        p->digests_in++;
        break;
    case ENT_WIRE_RANGES:
        p->ranges_in++;
        break;
    case ENT_WIRE_LEAF:
        p->leaves_in++;
        break;
    case ENT_WIRE_PONG:
        p->pongs++;
        break;
    case ENT_WIRE_DIGEST:
        p->digest_reqs++;
        break;
    case ENT_WIRE_VV:
        p->vv_in++;
        break;
    case ENT_WIRE_CHUNK_WANT:
        p->chunk_wants_in++;
        break;
    case ENT_WIRE_CHUNK:
        p->chunks_in++;
        break;
    case ENT_WIRE_ADDRS:
        for (size_t i = 0; i < m.u.addrs.nrecs; i++) {
            ent_addr_record r;
            p->addrs_recs++;
            if (ent_addr_record_decode(&r, m.u.addrs.recs[i].p,
                                       m.u.addrs.recs[i].len) != ENT_OK)
                continue;
            if (memcmp(r.org, p->v_org, 32) == 0)
                p->addrs_self = true;
            else
                p->addrs_other = true;
        }
        break;
    case ENT_WIRE_OPS:
        p->ops_in++;
        p->op_recs_in += (unsigned)m.u.ops.nops;
        if (p->ack_ops)
            bpeer_ack(s, m.u.ops.object);
        break;
    default:
        break;
    }
    ent_wire_msg_clear(&m);
}

static inline void bpeer_closed(ent_session *s, int reason, void *data) {
    bpeer *p = data;
    if (s == p->s) {
        p->s = NULL;
        p->open = false;
        p->closed = true;
        p->reason = reason;
    }
}

static inline bool bpeer_settled(void *arg) {
    const bpeer *p = arg;
    return p->closed || (p->open && p->hellos > 0);
}

static inline bool bpeer_gone(void *arg) {
    return ((const bpeer *)arg)->s == NULL;
}

/*
 * Dials node nd (closing the session there was first), with the counters
 * reset, and runs the loop until the session is open with nd's HELLO, or
 * closed, or ms pass. @return whether it settled so.
 */
static inline bool bpeer_dial(bpeer *p, ent_node *nd, uint64_t ms) {
    if (p->s != NULL) {
        ent_session_close(p->s, ENT_OK);
        assert_true(loop_run_until(p->loop, bpeer_gone, p, ms));
    }
    p->open = p->closed = false;
    p->hellos = p->acks = p->errors = p->ops_in = 0;
    p->acks_msgs = p->acked = 0;
    p->last_err = 0;
    ent_session_mgr_set_flow(p->mgr, p->flow_cap);
    assert_int_equal(
        ent_session_dial(p->mgr, ent_node_listen(nd),
                         ent_identity_public(ent_node_identity(nd)), &p->s),
        ENT_OK);
    return loop_run_until(p->loop, bpeer_settled, p, ms);
}

/* Sends one already-encoded message on the open session. */
static inline void bpeer_send_raw(bpeer *p, const uint8_t *msg, size_t len) {
    assert_non_null(p->s);
    assert_int_equal(ent_session_send(p->s, msg, len), ENT_OK);
}

static inline void bpeer_send(bpeer *p, const ent_wire_msg *m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ent_wire_encode(m, &buf, &len), ENT_OK);
    bpeer_send_raw(p, buf, len);
    free(buf);
}

static inline void bpeer_hello(bpeer *p, const char *name) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_HELLO;
    m.u.hello.version = ENT_WIRE_VERSION;
    if (p->acks_cap)
        snprintf(m.u.hello.caps[m.u.hello.ncaps++], sizeof(m.u.hello.caps[0]),
                 "%s", ENT_WIRE_ACKS_CAP);
    if (p->recon_cap)
        snprintf(m.u.hello.caps[m.u.hello.ncaps++], sizeof(m.u.hello.caps[0]),
                 "%s", ENT_WIRE_RECON_CAP);
    if (p->flow_cap)
        snprintf(m.u.hello.caps[m.u.hello.ncaps++], sizeof(m.u.hello.caps[0]),
                 "%s", ENT_FLOW_CAP);
    snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s", name);
    bpeer_send(p, &m);
    /* the node's HELLO (read by bpeer_dial) says flow/1 */
    if (p->flow_cap)
        ent_session_set_flow(p->s, true);
}

/* bpeer_dial() that must get an open session, then HELLO as name. */
static inline void bpeer_connect(bpeer *p, ent_node *nd, const char *name,
                                 uint64_t ms) {
    assert_true(bpeer_dial(p, nd, ms));
    assert_true(p->open);
    bpeer_hello(p, name);
}

#endif

#if defined(NODES_WORLD) && !defined(ENT_TEST_NODES_WORLD_H)
#define ENT_TEST_NODES_WORLD_H

/* The loop, run until a condition over the world holds. */

typedef struct nodes_cond {
    bool (*pred)(world *w);
    world *w;
} nodes_cond;

static inline bool nodes_cond_holds(void *arg) {
    const nodes_cond *c = arg;
    return c->pred(c->w);
}

/* Runs the loop until pred(w) holds or ms pass; returns pred(w). */
static inline bool run_until(world *w, bool (*pred)(world *w), uint64_t ms) {
    nodes_cond c = {pred, w};
    return loop_run_until(&w->loop, nodes_cond_holds, &c, ms);
}

static inline bool never(world *w) { return false; }

static inline void run_for(world *w, uint64_t ms) { run_until(w, never, ms); }

static inline ent_objects *veng(world *w) { return ent_node_objects(w->v); }
static inline ent_objects *heng(world *w) { return ent_node_objects(w->h); }
static inline ent_peers *vp(world *w) { return ent_node_peers(w->v); }
static inline ent_peers *hp(world *w) { return ent_node_peers(w->h); }
static inline const uint8_t *vorg(world *w) {
    return ent_identity_public(ent_node_identity(w->v));
}
static inline const uint8_t *horg(world *w) {
    return ent_identity_public(ent_node_identity(w->h));
}

/* ---- opening and closing -------------------------------------------------- */

static inline void nodes_on_wake(uv_timer_t *t) { (void)t; }

/*
 * A fresh loop with a 10 ms wake-up timer, a log at level (tagged tag), a
 * temporary folder base/ent-TAG.XXXXXX with a home for each of the n (1 or
 * 2) org names, and their nodes V (and H) opened and started. The caller
 * sets the environment first.
 */
static inline void nodes_open(world *w, const char *base, const char *tag,
                              ent_log_level level, const char *const *names,
                              int n) {
    ent_node **nodes[NODES_MAX] = {&w->v, &w->h};
    assert_true(n >= 1 && n <= NODES_MAX);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_timer_init(&w->loop, &w->wake);
    uv_timer_start(&w->wake, nodes_on_wake, 10, 10);
    ent_log_init(&w->log, level, tag);
    nodes_tmpdir(w->tmp, base, tag);
    for (int i = 0; i < n; i++) {
        node_home(w->home[i], w->tmp, names[i], names[i], NULL);
        node_open(nodes[i], &w->loop, w->home[i], &w->log);
        w->nnodes++;
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(ent_node_start(*nodes[i], NULL), ENT_OK);
}

/* p gets a fresh org from seed byte seed (tnode_open) and a session manager
 * on the loop; nodes_free() closes both. */
static inline void bpeer_open(world *w, bpeer *p, uint8_t seed, bool ack_ops) {
    ent_session_callbacks cb = {NULL, bpeer_established, bpeer_message,
                                bpeer_closed, NULL};
    assert_int_equal(tnode_open(&p->t, seed), 0);
    p->loop = &w->loop;
    p->ack_ops = ack_ops;
    assert_int_equal(
        ent_session_mgr_new(&p->mgr, &w->loop, p->t.id, NULL, &cb, p),
        ENT_OK);
    w->bare = p;
}

static inline void nodes_node_stopped(ent_node *n, void *data) {
    ((world *)data)->stopped++;
}

static inline void nodes_mgr_closed(ent_session_mgr *m, void *data) {
    ((bpeer *)data)->mgr = NULL;
}

static inline bool nodes_all_stopped(world *w) {
    return w->stopped == w->nnodes && (w->bare == NULL || w->bare->mgr == NULL);
}

/*
 * Closes the bare peer's session and manager, stops the nodes, frees
 * everything, removes the temporary folder and frees w (calloc'ed by the
 * caller). Accepts NULL.
 */
static inline void nodes_free(world *w) {
    if (w == NULL)
        return;
    bpeer *p = w->bare;
    if (p != NULL && p->s != NULL)
        ent_session_close(p->s, ENT_OK);
    if (p != NULL && p->mgr != NULL)
        ent_session_mgr_close(p->mgr, nodes_mgr_closed, p);
    if (w->v != NULL)
        ent_node_stop(w->v, nodes_node_stopped, w);
    if (w->h != NULL)
        ent_node_stop(w->h, nodes_node_stopped, w);
    assert_true(run_until(w, nodes_all_stopped, 10000));
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ent_node_free(w->v);
    ent_node_free(w->h);
    if (p != NULL)
        tnode_close(&p->t);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    rm_tree(w->tmp);
    free(w);
}

/* A cmocka teardown: nodes_free() of the state. */
static inline int nodes_teardown(void **state) {
    nodes_free(*state);
    return 0;
}

/* ---- invites -------------------------------------------------------------- */

/* V invites a member to obj and H takes the invite up: w->jid is H's join,
 * to be waited for with nodes_join_over(). */
static inline void nodes_join_start(world *w, const uint8_t obj[32]) {
    char err[256], *token = NULL, iid[33];
    uint64_t expiry;
    assert_int_equal(ent_peers_invite(vp(w), obj, ENT_ROLE_MEMBER, 3600,
                                      &token, &expiry, iid),
                     ENT_OK);
    assert_int_equal(ent_peers_join(hp(w), token, strlen(token), &w->jid, err,
                                    sizeof(err)),
                     ENT_OK);
    free(token);
}

/* Whether H's join w->jid is over (done or failed). */
static inline bool nodes_join_over(world *w) {
    json_t *j = NULL;
    bool over = false;
    if (ent_peers_join_json(hp(w), w->jid, &j) == ENT_OK) {
        const char *st = json_string_value(json_object_get(j, "state"));
        over = st != NULL &&
               (strcmp(st, "done") == 0 || strcmp(st, "failed") == 0);
    }
    json_decref(j);
    return over;
}

/* Fails the test unless H's join w->jid is done. */
static inline void nodes_join_assert_done(world *w) {
    json_t *j = NULL;
    assert_int_equal(ent_peers_join_json(hp(w), w->jid, &j), ENT_OK);
    const char *st = json_string_value(json_object_get(j, "state"));
    if (st == NULL || strcmp(st, "done") != 0)
        fail_msg("join %s: %s", st != NULL ? st : "(no state)",
                 json_string_value(json_object_get(j, "error")));
    json_decref(j);
}

/* H joins V's obj through an invite, within ms. */
static inline void nodes_join(world *w, const uint8_t obj[32], uint64_t ms) {
    nodes_join_start(w, obj);
    assert_true(run_until(w, nodes_join_over, ms));
    nodes_join_assert_done(w);
}

#endif
