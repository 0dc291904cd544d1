/*
 * flow_test.c - credit accounting of flow/1 (protocol/flow.h,
 * spec/protocol.md §3.9): the modes, the initial credit, when a receiver
 * grants, what it refuses, the CREDIT message and the type peek; and two
 * accounts talking through a simulated pipe with a slow, bursty reader:
 * the sender never goes past its credit, the receiver never cuts it off,
 * nothing stalls. The sessions that carry it are tested in
 * tests/session_test.c, a peer that ignores it in tests/hostile_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/flow.h"
#include "protocol/wire.h"

static void test_modes(void **state) {
    ent_flow f;
    uint64_t fr, by;
    bool more;

    /* OFF: no limits, nothing granted, a CREDIT is a violation */
    ent_flow_init(&f, false);
    for (int i = 0; i < 1000; i++) {
        assert_true(ent_flow_can_send(&f, 60000));
        ent_flow_sent(&f, 60000);
        assert_int_equal(ent_flow_received(&f, 60000), ENT_OK);
    }
    assert_false(ent_flow_grant(&f, &fr, &by));
    assert_int_equal(ent_flow_credit(&f, 1u << 20, 1u << 30, &more),
                     ENT_EPROTO);
    ent_flow_peer(&f, true); /* OFF stays OFF */
    assert_int_equal(f.mode, ENT_FLOW_OFF);

    /* PROBE: keeps to the initial credit, enforces nothing */
    ent_flow_init(&f, true);
    assert_int_equal(f.mode, ENT_FLOW_PROBE);
    for (int i = 0; i < ENT_FLOW_INIT_FRAMES; i++) {
        assert_true(ent_flow_can_send(&f, 10));
        ent_flow_sent(&f, 10);
    }
    assert_false(ent_flow_can_send(&f, 10)); /* frames used up */
    for (int i = 0; i < 2 * ENT_FLOW_INIT_FRAMES; i++)
        assert_int_equal(ent_flow_received(&f, 100), ENT_OK);
    assert_false(ent_flow_grant(&f, &fr, &by));
    /* the peer has no flow/1: OFF, no limits any more */
    ent_flow_peer(&f, false);
    assert_int_equal(f.mode, ENT_FLOW_OFF);
    assert_true(ent_flow_can_send(&f, 10));

    /* bytes bound too */
    ent_flow_init(&f, true);
    assert_true(ent_flow_can_send(&f, ENT_FLOW_INIT_BYTES));
    assert_false(ent_flow_can_send(&f, ENT_FLOW_INIT_BYTES + 1));
    ent_flow_sent(&f, ENT_FLOW_INIT_BYTES - 5);
    assert_true(ent_flow_can_send(&f, 5));
    assert_false(ent_flow_can_send(&f, 6));
}

static void test_receiver(void **state) {
    ent_flow f;
    uint64_t fr = 0, by = 0;

    ent_flow_init(&f, true);
    assert_int_equal(ent_flow_received(&f, 50), ENT_OK); /* HELLO */
    ent_flow_peer(&f, true);
    assert_int_equal(f.mode, ENT_FLOW_ON);
    /* the first grant: a window ahead of what was received */
    assert_true(ent_flow_grant_now(&f, &fr, &by));
    assert_int_equal(fr, 1 + ENT_FLOW_WINDOW_FRAMES);
    assert_int_equal(by, 50 + ENT_FLOW_WINDOW_BYTES);
    /* no new grant while more than half a window is left */
    for (uint64_t i = 0; i < ENT_FLOW_WINDOW_FRAMES / 2; i++) {
        assert_int_equal(ent_flow_received(&f, 10), ENT_OK);
        assert_false(ent_flow_grant(&f, &fr, &by));
    }
    /* one more: less than half of the frames left */
    assert_int_equal(ent_flow_received(&f, 10), ENT_OK);
    assert_true(ent_flow_grant(&f, &fr, &by));
    assert_int_equal(fr, f.rx_frames + ENT_FLOW_WINDOW_FRAMES);
    assert_int_equal(fr, f.rx_max_frames);
    /* bytes alone also trigger a grant */
    uint64_t left = f.rx_max_bytes - f.rx_bytes;
    assert_int_equal(ent_flow_received(&f, left - ENT_FLOW_WINDOW_BYTES / 2 + 1),
                     ENT_OK);
    assert_true(ent_flow_grant(&f, &fr, &by));
    assert_int_equal(by, f.rx_bytes + ENT_FLOW_WINDOW_BYTES);
    /* past the grant: refused (the session is cut off) */
    while (f.rx_frames < f.rx_max_frames)
        assert_int_equal(ent_flow_received(&f, 1), ENT_OK);
    assert_int_equal(ent_flow_received(&f, 1), ENT_ELIMIT);
    /* past the bytes granted, in one message */
    ent_flow_init(&f, true);
    ent_flow_peer(&f, true);
    assert_int_equal(ent_flow_received(&f, ENT_FLOW_INIT_BYTES), ENT_OK);
    assert_int_equal(ent_flow_received(&f, 1), ENT_ELIMIT);
}

static void test_credit(void **state) {
    ent_flow f;
    bool more;

    ent_flow_init(&f, true);
    /* before ON: a CREDIT is a violation */
    assert_int_equal(ent_flow_credit(&f, 100, 1u << 20, &more), ENT_EPROTO);
    ent_flow_peer(&f, true);
    /* below the initial credit: a violation */
    assert_int_equal(ent_flow_credit(&f, ENT_FLOW_INIT_FRAMES - 1,
                                     1u << 20, &more),
                     ENT_EPROTO);
    assert_int_equal(ent_flow_credit(&f, 100, ENT_FLOW_INIT_BYTES - 1, &more),
                     ENT_EPROTO);
    assert_int_equal(ent_flow_credit(&f, 100, 1u << 20, &more), ENT_OK);
    assert_true(more);
    assert_int_equal(f.tx_max_frames, 100);
    /* the same totals again: allowed, nothing more */
    assert_int_equal(ent_flow_credit(&f, 100, 1u << 20, &more), ENT_OK);
    assert_false(more);
    /* lower than before: a violation, nothing changed */
    assert_int_equal(ent_flow_credit(&f, 99, 2u << 20, &more), ENT_EPROTO);
    assert_int_equal(f.tx_max_frames, 100);
    assert_int_equal(f.tx_max_bytes, 1u << 20);
    /* the sender keeps to it */
    for (int i = 0; i < 100; i++) {
        assert_true(ent_flow_can_send(&f, 1));
        ent_flow_sent(&f, 1);
    }
    assert_false(ent_flow_can_send(&f, 1));
    /* totals up to 2^64 - 1 */
    assert_int_equal(ent_flow_credit(&f, UINT64_MAX, UINT64_MAX, &more),
                     ENT_OK);
    assert_true(ent_flow_can_send(&f, 65519));
}

static void test_wire(void **state) {
    ent_wire_msg m, d;
    uint8_t buf[64];
    size_t len = 0;
    int type = 0;

    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CREDIT;
    m.u.credit = (ent_wire_credit){300, 2097152};
    assert_int_equal(ent_wire_encode_to(&m, buf, sizeof(buf), &len), ENT_OK);
    /* [21, 300, 2097152]: 93 15 cd 01 2c ce 00 20 00 00 */
    static const uint8_t want[] = {0x93, 0x15, 0xcd, 0x01, 0x2c,
                                   0xce, 0x00, 0x20, 0x00, 0x00};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(ent_wire_encoded_size(&m), len);
    assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_CREDIT);
    assert_int_equal(d.u.credit.frames, 300);
    assert_int_equal(d.u.credit.bytes, 2097152);
    assert_string_equal(ent_wire_type_name(ENT_WIRE_CREDIT), "CREDIT");
    /* wrong field types and counts */
    static const uint8_t neg[] = {0x93, 0x15, 0xff, 0x01};
    static const uint8_t two[] = {0x92, 0x15, 0x01};
    static const uint8_t str[] = {0x93, 0x15, 0xa1, 0x31, 0x01};
    assert_int_equal(ent_wire_decode(&d, neg, sizeof(neg)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, two, sizeof(two)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, str, sizeof(str)), ENT_EPROTO);
    /* the peek, in every integer form */
    assert_int_equal(ent_wire_peek_type(buf, len, &type), ENT_OK);
    assert_int_equal(type, ENT_WIRE_CREDIT);
    static const uint8_t u8[] = {0x93, 0xcc, 0x15};
    static const uint8_t u64[] = {0x93, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x15};
    static const uint8_t a16[] = {0xdc, 0x00, 0x03, 0xcd, 0x00, 0x05};
    static const uint8_t big[] = {0x93, 0xcd, 0x01, 0x00};
    assert_int_equal(ent_wire_peek_type(u8, sizeof(u8), &type), ENT_OK);
    assert_int_equal(type, 21);
    assert_int_equal(ent_wire_peek_type(u64, sizeof(u64), &type), ENT_OK);
    assert_int_equal(type, 21);
    assert_int_equal(ent_wire_peek_type(a16, sizeof(a16), &type), ENT_OK);
    assert_int_equal(type, 5);
    assert_int_equal(ent_wire_peek_type(big, sizeof(big), &type), ENT_OK);
    assert_int_equal(type, -1);
    /* signed forms of a value >= 0 are the same integer (spec/protocol.md
     * section 2), for the peek as for the decoder: a CREDIT typed d0 15
     * must not pass the session layer as another message */
    static const uint8_t i8[] = {0x93, 0xd0, 0x15, 0x01, 0x01};
    static const uint8_t i64[] = {0x93, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x15,
                                  0x01, 0x01};
    static const uint8_t ineg[] = {0x93, 0xd0, 0xeb, 0x01, 0x01};
    assert_int_equal(ent_wire_peek_type(i8, sizeof(i8), &type), ENT_OK);
    assert_int_equal(type, ENT_WIRE_CREDIT);
    assert_int_equal(ent_wire_decode(&d, i8, sizeof(i8)), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_CREDIT);
    ent_wire_msg_clear(&d);
    assert_int_equal(ent_wire_peek_type(i64, sizeof(i64), &type), ENT_OK);
    assert_int_equal(type, ENT_WIRE_CREDIT);
    assert_int_equal(ent_wire_peek_type(ineg, sizeof(ineg), &type),
                     ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, ineg, sizeof(ineg)), ENT_EPROTO);
    /* not an array, cut short, negative */
    static const uint8_t notarr[] = {0x15, 0x15};
    static const uint8_t cut[] = {0x93, 0xcd, 0x01};
    static const uint8_t neg1[] = {0x93, 0xff};
    assert_int_equal(ent_wire_peek_type(notarr, 2, &type), ENT_EPROTO);
    assert_int_equal(ent_wire_peek_type(cut, sizeof(cut), &type), ENT_EPROTO);
    assert_int_equal(ent_wire_peek_type(neg1, 2, &type), ENT_EPROTO);
    assert_int_equal(ent_wire_peek_type(buf, 1, &type), ENT_EPROTO);
    assert_int_equal(ent_wire_peek_type(u64, 5, &type), ENT_EPROTO);
}

/*
 * Two accounts, S sending to R through a pipe. S sends as much as its
 * credit allows each round; R reads a random number of the messages in
 * the pipe (none, some, or all: a busy loop, a slow disk) and grants after
 * each; grants reach S one round later. Over 200,000 messages of random
 * sizes (1..65519 bytes) R never refuses one, S is never stuck for good,
 * and S sends past the initial credit only on R's grants.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_pipe(void **state) {
    enum { N = 200000, PIPE = 4096 };
    ent_flow s, r;
    size_t pipe[PIPE];
    size_t head = 0, tail = 0, sent = 0, got = 0, rounds = 0;
    uint64_t pend_f = 0, pend_b = 0, grants = 0;
    bool pend = false, more;

    ent_flow_init(&s, true);
    ent_flow_init(&r, true);
    ent_flow_peer(&s, true);
    ent_flow_peer(&r, true);
    while (got < N) {
        assert_true(++rounds < 10 * N); /* never stuck */
        if (pend) { /* last round's CREDIT arrives */
            assert_int_equal(ent_flow_credit(&s, pend_f, pend_b, &more),
                             ENT_OK);
            pend = false;
        }
        for (;;) {
            size_t len = 1 + rnd() % (rnd() % 4 == 0 ? 65519 : 300);
            if (sent == N || tail - head == PIPE ||
                !ent_flow_can_send(&s, len))
                break;
            ent_flow_sent(&s, len);
            pipe[tail++ % PIPE] = len;
            sent++;
        }
        size_t n = tail - head;
        size_t take = rnd() % 3 == 0 ? 0 : (size_t)(rnd() % (n + 1));
        for (size_t i = 0; i < take; i++) {
            assert_int_equal(ent_flow_received(&r, pipe[head++ % PIPE]),
                             ENT_OK);
            got++;
            uint64_t f, b;
            if (ent_flow_grant(&r, &f, &b)) {
                pend_f = f;
                pend_b = b;
                pend = true;
                grants++;
            }
        }
        /* never more in flight than granted */
        assert_true(s.tx_frames <= s.tx_max_frames);
        assert_true(s.tx_bytes <= s.tx_max_bytes);
    }
    assert_int_equal(s.tx_frames, N);
    assert_int_equal(r.rx_frames, N);
    /* grants are few: about one per half window */
    assert_true(grants < N / 16);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),   cmocka_unit_test(test_receiver),
        cmocka_unit_test(test_credit),  cmocka_unit_test(test_wire),
        cmocka_unit_test(test_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
