/*
 * vhz_fixture.h - two real nodes V and H on one uv loop (127.0.0.1, port 0,
 * homes in a fresh temporary folder) and Z, a member of V's object with a
 * bare session manager, for tests of the peer layer (keepalive_test.c,
 * sync_progress_test.c).
 *
 * Included twice: first for zpeer and VHZ_WORLD_FIELDS, with which the test
 * defines its `world` (the common fields, then its own); then, with
 * VHZ_WORLD defined, for the helpers over that world:
 *
 *     #include "vhz_fixture.h"
 *     typedef struct world { VHZ_WORLD_FIELDS; int mine; } world;
 *     #define VHZ_WORLD
 *     #include "vhz_fixture.h"
 *
 * setup() calls vhz_open() and, once V holds w->obj, vhz_add_z();
 * vhz_teardown is the teardown.
 */
#ifndef ENT_TEST_VHZ_FIXTURE_H
#define ENT_TEST_VHZ_FIXTURE_H

#include <ftw.h>
#include <limits.h>

#include "object_fixture.h"

#include "node/home.h"
#include "node/daemon/daemon.h"
#include "node/node.h"
#include "node/peers/peer.h"
#include "node/peers/peer_int.h"
#include "protocol/session.h"
#include "protocol/wire.h"

typedef struct zpeer {
    tnode t;
    ent_session_mgr *mgr;
    ent_session *s;
    bool open, closed;
    unsigned hellos, errors;
    int32_t last_err; /* code of the last ERROR received */
} zpeer;

#define VHZ_WORLD_FIELDS                                                      \
    uv_loop_t loop;                                                           \
    uv_timer_t wake;                                                          \
    char tmp[PATH_MAX];                                                       \
    char home[2][PATH_MAX];                                                   \
    ent_node *v, *h;                                                          \
    ent_log log;                                                              \
    uint8_t obj[32];                                                          \
    zpeer z;                                                                  \
    int stopped

#endif

#if defined(VHZ_WORLD) && !defined(ENT_TEST_VHZ_WORLD_H)
#define ENT_TEST_VHZ_WORLD_H

static inline void vhz_on_wake(uv_timer_t *t) { (void)t; }

static inline bool run_until(world *w, bool (*pred)(world *w), uint64_t ms) {
    uv_update_time(&w->loop);
    uint64_t end = uv_now(&w->loop) + ms;
    while (!pred(w) && uv_now(&w->loop) < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    return pred(w);
}

static inline bool never(world *w) { return false; }

static inline ent_peers *vp(world *w) { return ent_node_peers(w->v); }
static inline ent_peers *hp(world *w) { return ent_node_peers(w->h); }
static inline const uint8_t *vorg(world *w) {
    return ent_identity_public(ent_node_identity(w->v));
}
static inline const uint8_t *horg(world *w) {
    return ent_identity_public(ent_node_identity(w->h));
}

static inline ent_peers_stats pst(ent_peers *p) {
    ent_peers_stats s;
    ent_peers_stats_get(p, &s);
    return s;
}

/*
 * A fresh loop with a 10 ms wake-up timer, a temporary folder
 * base/ent-TAG.XXXXXX with the homes of V and H (names[0], names[1]), both
 * nodes opened and started. The caller sets the environment first.
 */
static inline void vhz_open(world *w, const char *base, const char *tag,
                            const char *const names[2]) {
    char org[ENT_ORG_ID_LEN + 1];
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_timer_init(&w->loop, &w->wake);
    uv_timer_start(&w->wake, vhz_on_wake, 10, 10);
    ent_log_init(&w->log, ENT_LOG_OFF, tag);
    snprintf(w->tmp, sizeof(w->tmp), "%s/ent-%s.XXXXXX", base, tag);
    assert_non_null(mkdtemp(w->tmp));
    for (int i = 0; i < 2; i++) {
        snprintf(w->home[i], PATH_MAX, "%s/%s", w->tmp, names[i]);
        assert_int_equal(
            ent_home_init(w->home[i], names[i], "127.0.0.1:0", NULL, org),
            ENT_OK);
    }
    assert_int_equal(ent_daemon_open(&w->v, &w->loop, w->home[0], &w->log),
                     ENT_OK);
    assert_int_equal(ent_daemon_open(&w->h, &w->loop, w->home[1], &w->log),
                     ENT_OK);
    assert_int_equal(ent_node_start(w->v, NULL), ENT_OK);
    assert_int_equal(ent_node_start(w->h, NULL), ENT_OK);
}

/* ---- Z ------------------------------------------------------------------- */

static inline void z_established(ent_session *s, void *data) {
    zpeer *z = data;
    if (s == z->s)
        z->open = true;
}

static inline void z_message(ent_session *s, const uint8_t *msg, size_t len,
                             void *data) {
    zpeer *z = data;
    ent_wire_msg m;
    if (ent_wire_decode(&m, msg, len) != ENT_OK)
        return;
    if (m.type == ENT_WIRE_HELLO) {
        z->hellos++;
    } else if (m.type == ENT_WIRE_ERROR) {
        z->errors++;
        z->last_err = m.u.error.code;
    }
    ent_wire_msg_clear(&m);
}

static inline void z_closed(ent_session *s, int reason, void *data) {
    zpeer *z = data;
    if (s == z->s) {
        z->s = NULL;
        z->open = false;
        z->closed = true;
    }
}

static inline bool z_settled(world *w) {
    return w->z.closed || (w->z.open && w->z.hellos > 0);
}

/* Z becomes a member of w->obj (V adds it and pushes the op) and gets a
 * bare session manager on the loop. */
static inline void vhz_add_z(world *w) {
    ent_op *op = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_int_equal(tnode_open(&w->z.t, 0x5a), 0);
    assert_int_equal(ent_obj_add_member(ent_node_objects(w->v), w->obj,
                                        tnode_pk(&w->z.t), ENT_ROLE_MEMBER,
                                        &op, &boxes, &nboxes),
                     ENT_OK);
    ent_node_op_created(w->v, op);
    free(boxes);
    ent_session_callbacks cb = {NULL, z_established, z_message, z_closed};
    assert_int_equal(ent_session_mgr_new(&w->z.mgr, &w->loop, w->z.t.id, NULL,
                                         &cb, &w->z),
                     ENT_OK);
}

/* ---- teardown ------------------------------------------------------------ */

static inline void vhz_node_stopped(ent_node *n, void *data) {
    ((world *)data)->stopped++;
}
static inline void vhz_mgr_closed(ent_session_mgr *m, void *data) {
    ((world *)data)->z.mgr = NULL;
}
static inline bool vhz_all_stopped(world *w) {
    return w->stopped == 2 && w->z.mgr == NULL;
}
static inline int vhz_rm_entry(const char *p, const struct stat *sb, int t,
                               struct FTW *f) {
    return remove(p);
}

/* Closes Z's session and manager, stops both nodes, frees everything and
 * removes the temporary folder. */
static inline int vhz_teardown(void **state) {
    world *w = *state;
    if (w->z.s != NULL)
        ent_session_close(w->z.s, ENT_OK);
    ent_session_mgr_close(w->z.mgr, vhz_mgr_closed, w);
    ent_node_stop(w->v, vhz_node_stopped, w);
    ent_node_stop(w->h, vhz_node_stopped, w);
    assert_true(run_until(w, vhz_all_stopped, 10000));
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ent_node_free(w->v);
    ent_node_free(w->h);
    tnode_close(&w->z.t);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    nftw(w->tmp, vhz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

#endif
