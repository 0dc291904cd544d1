/* wire_test.c - frame reader, bounded msgpack pre-scan, message codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/wire.h"

/* ---- helpers ------------------------------------------------------------ */

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* One valid message of every type; variable parts point into static data. */
static uint8_t op_a[100], op_b[300], op_c[70000];
static uint8_t ack_ids[3][ENT_WIRE_ID_LEN];
static uint8_t summary[ENT_WIRE_MAX_SUMMARY];
static ent_wire_bytes ops3[3];
static ent_wire_join_key join_keys[3];

static void sample(ent_wire_msg *m, int type) {
    memset(m, 0, sizeof(*m));
    m->type = type;
    switch (type) {
    case ENT_WIRE_HELLO:
        m->u.hello.version = ENT_WIRE_VERSION;
        m->u.hello.ncaps = 2;
        strcpy(m->u.hello.caps[0], "ops/1");
        strcpy(m->u.hello.caps[1], "gossip/1");
        strcpy(m->u.hello.name, "Acme Corp \xc3\xa9"); /* UTF-8 é */
        m->u.hello.naddrs = 3;
        strcpy(m->u.hello.addrs[0], "127.0.0.1:7400");
        strcpy(m->u.hello.addrs[1], "[::1]:7400");
        strcpy(m->u.hello.addrs[2], "node.acme.example:65535");
        break;
    case ENT_WIRE_JOIN:
        fill(m->u.join.invite_id, ENT_WIRE_INVITE_ID_LEN, 1);
        fill(m->u.join.proof, ENT_WIRE_PROOF_LEN, 2);
        strcpy(m->u.join.name, "Globex");
        break;
    case ENT_WIRE_JOIN_OK:
        fill(m->u.join_ok.object, ENT_WIRE_ID_LEN, 3);
        for (int i = 0; i < 3; i++) {
            join_keys[i].epoch = i == 2 ? UINT64_MAX : (uint64_t)i * 300;
            fill(join_keys[i].box, ENT_WIRE_BOX_LEN, (uint8_t)(20 + i));
        }
        m->u.join_ok.keys = join_keys;
        m->u.join_ok.nkeys = 3;
        m->u.join_ok.nops = 70000;
        break;
    case ENT_WIRE_JOIN_ERR:
        m->u.error.code = ENT_WIRE_C_INVITE_EXPIRED;
        strcpy(m->u.error.text, "invite expired");
        break;
    case ENT_WIRE_OPS:
        fill(m->u.ops.object, ENT_WIRE_ID_LEN, 4);
        fill(op_a, sizeof(op_a), 5);
        fill(op_b, sizeof(op_b), 6);
        ops3[0] = (ent_wire_bytes){op_a, sizeof(op_a)};
        ops3[1] = (ent_wire_bytes){op_b, sizeof(op_b)};
        ops3[2] = (ent_wire_bytes){op_a, 1};
        m->u.ops.ops = ops3;
        m->u.ops.nops = 3;
        break;
    case ENT_WIRE_ACK:
        fill(m->u.ack.object, ENT_WIRE_ID_LEN, 7);
        for (int i = 0; i < 3; i++)
            fill(ack_ids[i], ENT_WIRE_ID_LEN, (uint8_t)(8 + i));
        m->u.ack.ids = ack_ids;
        m->u.ack.nids = 3;
        break;
    case ENT_WIRE_HAVE:
    case ENT_WIRE_WANT:
        fill(m->u.summary.object, ENT_WIRE_ID_LEN, 11);
        fill(summary, sizeof(summary), 12);
        m->u.summary.bytes = summary;
        m->u.summary.len = type == ENT_WIRE_HAVE ? sizeof(summary) : 17;
        break;
    case ENT_WIRE_PING:
    case ENT_WIRE_PONG:
        fill(m->u.nonce, ENT_WIRE_NONCE_LEN, (uint8_t)type);
        break;
    case ENT_WIRE_ERROR:
        m->u.error.code = -5;
        strcpy(m->u.error.text, "");
        break;
    case ENT_WIRE_GOODBYE:
        m->u.error.code = ENT_WIRE_C_SHUTDOWN;
        memset(m->u.error.text, 'x', ENT_WIRE_MAX_TEXT);
        break;
    }
}

static void assert_msg_equal(const ent_wire_msg *a, const ent_wire_msg *b) {
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case ENT_WIRE_HELLO:
        assert_int_equal(a->u.hello.version, b->u.hello.version);
        assert_int_equal(a->u.hello.ncaps, b->u.hello.ncaps);
        for (size_t i = 0; i < a->u.hello.ncaps; i++)
            assert_string_equal(a->u.hello.caps[i], b->u.hello.caps[i]);
        assert_string_equal(a->u.hello.name, b->u.hello.name);
        assert_int_equal(a->u.hello.naddrs, b->u.hello.naddrs);
        for (size_t i = 0; i < a->u.hello.naddrs; i++)
            assert_string_equal(a->u.hello.addrs[i], b->u.hello.addrs[i]);
        break;
    case ENT_WIRE_JOIN:
        assert_memory_equal(a->u.join.invite_id, b->u.join.invite_id, 16);
        assert_memory_equal(a->u.join.proof, b->u.join.proof, 32);
        assert_string_equal(a->u.join.name, b->u.join.name);
        break;
    case ENT_WIRE_JOIN_OK:
        assert_memory_equal(a->u.join_ok.object, b->u.join_ok.object, 32);
        assert_int_equal(a->u.join_ok.nkeys, b->u.join_ok.nkeys);
        for (size_t i = 0; i < a->u.join_ok.nkeys; i++) {
            assert_true(a->u.join_ok.keys[i].epoch == b->u.join_ok.keys[i].epoch);
            assert_memory_equal(a->u.join_ok.keys[i].box,
                                b->u.join_ok.keys[i].box, ENT_WIRE_BOX_LEN);
        }
        assert_true(a->u.join_ok.nops == b->u.join_ok.nops);
        break;
    case ENT_WIRE_JOIN_ERR:
    case ENT_WIRE_ERROR:
    case ENT_WIRE_GOODBYE:
        assert_int_equal(a->u.error.code, b->u.error.code);
        assert_string_equal(a->u.error.text, b->u.error.text);
        break;
    case ENT_WIRE_OPS:
        assert_memory_equal(a->u.ops.object, b->u.ops.object, 32);
        assert_int_equal(a->u.ops.nops, b->u.ops.nops);
        for (size_t i = 0; i < a->u.ops.nops; i++) {
            assert_int_equal(a->u.ops.ops[i].len, b->u.ops.ops[i].len);
            assert_memory_equal(a->u.ops.ops[i].p, b->u.ops.ops[i].p,
                                a->u.ops.ops[i].len);
        }
        break;
    case ENT_WIRE_ACK:
        assert_memory_equal(a->u.ack.object, b->u.ack.object, 32);
        assert_int_equal(a->u.ack.nids, b->u.ack.nids);
        if (a->u.ack.nids > 0)
            assert_memory_equal(a->u.ack.ids, b->u.ack.ids, a->u.ack.nids * 32);
        break;
    case ENT_WIRE_HAVE:
    case ENT_WIRE_WANT:
        assert_memory_equal(a->u.summary.object, b->u.summary.object, 32);
        assert_int_equal(a->u.summary.len, b->u.summary.len);
        if (a->u.summary.len > 0)
            assert_memory_equal(a->u.summary.bytes, b->u.summary.bytes,
                                a->u.summary.len);
        break;
    case ENT_WIRE_PING:
    case ENT_WIRE_PONG:
        assert_memory_equal(a->u.nonce, b->u.nonce, ENT_WIRE_NONCE_LEN);
        break;
    default:
        fail();
    }
}

static bool points_into(const void *p, const uint8_t *buf, size_t len) {
    const uint8_t *q = p;
    return q >= buf && q < buf + len;
}

/* ---- messages ----------------------------------------------------------- */

static void test_round_trip_every_type(void **state) {
    (void)state;
    for (int t = ENT_WIRE_HELLO; t <= ENT_WIRE_GOODBYE; t++) {
        ent_wire_msg m, d;
        uint8_t *buf = NULL;
        size_t len = 0;
        sample(&m, t);
        assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
        assert_int_equal(len, ent_wire_encoded_size(&m));
        assert_int_equal(ent_wire_prescan(buf, len), ENT_OK);
        assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
        assert_msg_equal(&m, &d);
        /* nothing decoded points into the input */
        if (t == ENT_WIRE_OPS)
            for (size_t i = 0; i < d.u.ops.nops; i++)
                assert_false(points_into(d.u.ops.ops[i].p, buf, len));
        if (t == ENT_WIRE_ACK)
            assert_false(points_into(d.u.ack.ids, buf, len));
        if (t == ENT_WIRE_HAVE || t == ENT_WIRE_WANT)
            assert_false(points_into(d.u.summary.bytes, buf, len));
        /* re-encoding the decoded message gives the same bytes */
        uint8_t *again = NULL;
        size_t alen = 0;
        assert_int_equal(ent_wire_encode(&d, &again, &alen), ENT_OK);
        assert_int_equal(alen, len);
        assert_memory_equal(again, buf, len);
        /* encode_to: exact fit works, one byte short does not */
        uint8_t *exact = malloc(len);
        size_t elen = 0;
        assert_int_equal(ent_wire_encode_to(&m, exact, len, &elen), ENT_OK);
        assert_memory_equal(exact, buf, len);
        assert_int_equal(ent_wire_encode_to(&m, exact, len - 1, &elen),
                         ENT_ETOOBIG);
        free(exact);
        free(again);
        free(buf);
        ent_wire_msg_clear(&d);
        assert_int_equal(d.type, 0);
    }
}

/* Encodes m (at its encoded size), decodes it into d, re-encodes: the same
 * bytes; and every proper prefix of the encoding is refused. */
static void round_trip(const ent_wire_msg *m, ent_wire_msg *d) {
    uint8_t *buf = NULL, *again = NULL;
    size_t len = 0, alen = 0;
    assert_int_equal(ent_wire_encode(m, &buf, &len), ENT_OK);
    assert_int_equal(len, ent_wire_encoded_size(m));
    assert_int_equal(ent_wire_decode(d, buf, len), ENT_OK);
    assert_int_equal(d->type, m->type);
    assert_int_equal(ent_wire_encode(d, &again, &alen), ENT_OK);
    assert_int_equal(alen, len);
    assert_memory_equal(again, buf, len);
    /* every proper prefix is refused */
    for (size_t i = 0; i < len; i++) {
        ent_wire_msg t;
        assert_int_not_equal(ent_wire_decode(&t, buf, i), ENT_OK);
    }
    free(buf);
    free(again);
}

/* DIGEST (13), DIGESTS (14), VV (15): spec/gossip.md. */
static void test_gossip_messages(void **state) {
    (void)state;
    ent_wire_msg m, d;
    uint8_t *buf = NULL;
    size_t len = 0;

    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_DIGEST;
    memset(m.u.digest.digest, 0xab, 32);
    m.u.digest.nobjects = 1000;
    round_trip(&m, &d);
    assert_memory_equal(d.u.digest.digest, m.u.digest.digest, 32);
    assert_int_equal(d.u.digest.nobjects, 1000);
    assert_true(ent_wire_encoded_size(&m) <= 40); /* the in-sync cost */
    ent_wire_msg_clear(&d);

    uint8_t (*ent)[64] = calloc(ENT_WIRE_MAX_DIGESTS + 1, 64);
    for (size_t i = 0; i <= ENT_WIRE_MAX_DIGESTS; i++) {
        ent[i][0] = (uint8_t)(i >> 8);
        ent[i][1] = (uint8_t)i;
        ent[i][40] = 7;
    }
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_DIGESTS;
    m.u.digests.entries = ent;
    m.u.digests.n = ENT_WIRE_MAX_DIGESTS;
    m.u.digests.total = 5000;
    round_trip(&m, &d);
    assert_int_equal(d.u.digests.n, ENT_WIRE_MAX_DIGESTS);
    assert_int_equal(d.u.digests.total, 5000);
    assert_memory_equal(d.u.digests.entries, ent, ENT_WIRE_MAX_DIGESTS * 64);
    ent_wire_msg_clear(&d);
    m.u.digests.n = 0; /* an empty listing */
    m.u.digests.total = 0;
    round_trip(&m, &d);
    assert_int_equal(d.u.digests.n, 0);
    assert_null(d.u.digests.entries);
    ent_wire_msg_clear(&d);
    m.u.digests.n = ENT_WIRE_MAX_DIGESTS + 1; /* over the limit */
    m.u.digests.total = m.u.digests.n;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.digests.n = 2; /* total below n */
    m.u.digests.total = 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    uint8_t *vv = calloc(ENT_WIRE_MAX_VV + 1, ENT_WIRE_VV_ENTRY);
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_VV;
    memset(m.u.vv.object, 3, 32);
    m.u.vv.bytes = vv;
    m.u.vv.len = ENT_WIRE_MAX_VV * ENT_WIRE_VV_ENTRY;
    m.u.vv.flags = ENT_WIRE_VV_REPLY;
    round_trip(&m, &d);
    assert_int_equal(d.u.vv.len, m.u.vv.len);
    assert_int_equal(d.u.vv.flags, ENT_WIRE_VV_REPLY);
    assert_memory_equal(d.u.vv.object, m.u.vv.object, 32);
    ent_wire_msg_clear(&d);
    m.u.vv.len = 0;
    m.u.vv.flags = 0;
    round_trip(&m, &d);
    assert_null(d.u.vv.bytes);
    ent_wire_msg_clear(&d);
    m.u.vv.len = 39; /* not whole entries */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.vv.len = (ENT_WIRE_MAX_VV + 1) * ENT_WIRE_VV_ENTRY;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.vv.len = 40;
    m.u.vv.flags = 2; /* unknown flag */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    /* hand-made hostile shapes: [15, obj, bin(39), 0] and flags 2 */
    uint8_t bad[64];
    size_t o = 0;
    bad[o++] = 0x94;
    bad[o++] = 15;
    bad[o++] = 0xc4;
    bad[o++] = 32;
    memset(bad + o, 1, 32);
    o += 32;
    bad[o++] = 0xc4;
    bad[o++] = 1;
    bad[o++] = 9;
    bad[o++] = 0;
    assert_int_equal(ent_wire_decode(&d, bad, o), ENT_EPROTO);
    bad[o - 4] = 0; /* empty vector */
    bad[o - 3] = 2; /* flags 2 */
    assert_int_equal(ent_wire_decode(&d, bad, o - 1), ENT_EPROTO);
    /* tips (spec/gossip.md §2): one op id per entry, as a fifth element */
    uint8_t tips[64];
    memset(tips, 7, sizeof(tips));
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_VV;
    memset(m.u.vv.object, 3, 32);
    m.u.vv.bytes = vv;
    m.u.vv.len = 2 * ENT_WIRE_VV_ENTRY;
    m.u.vv.has_tips = true;
    m.u.vv.tips = tips;
    round_trip(&m, &d);
    assert_true(d.u.vv.has_tips);
    assert_memory_equal(d.u.vv.tips, tips, 64);
    ent_wire_msg_clear(&d);
    m.u.vv.len = 0; /* an empty vector has empty tips */
    round_trip(&m, &d);
    assert_true(d.u.vv.has_tips);
    assert_null(d.u.vv.tips);
    ent_wire_msg_clear(&d);
    /* [15, obj, bin(40), 0, bin(31)]: tips not one id per entry */
    uint8_t bad3[128];
    o = 0;
    bad3[o++] = 0x95;
    bad3[o++] = 15;
    bad3[o++] = 0xc4;
    bad3[o++] = 32;
    memset(bad3 + o, 1, 32);
    o += 32;
    bad3[o++] = 0xc4;
    bad3[o++] = 40;
    memset(bad3 + o, 2, 40);
    o += 40;
    bad3[o++] = 0;
    bad3[o++] = 0xc4;
    bad3[o++] = 31;
    memset(bad3 + o, 4, 31);
    o += 31;
    assert_int_equal(ent_wire_decode(&d, bad3, o), ENT_EPROTO);
    bad3[o - 32] = 32; /* 32 bytes, but one short in the buffer */
    assert_int_not_equal(ent_wire_decode(&d, bad3, o), ENT_OK);
    bad3[o++] = 4; /* now whole: accepted */
    assert_int_equal(ent_wire_decode(&d, bad3, o), ENT_OK);
    assert_true(d.u.vv.has_tips);
    ent_wire_msg_clear(&d);
    bad3[0] = 0x96; /* six elements */
    bad3[o++] = 0;
    assert_int_equal(ent_wire_decode(&d, bad3, o), ENT_EPROTO);
    /* [14, 0, bin(64)]: more entries than the total */
    uint8_t bad2[70] = {0x93, 14, 0, 0xc4, 64};
    assert_int_equal(ent_wire_decode(&d, bad2, 69), ENT_EPROTO);
    assert_string_equal(ent_wire_type_name(ENT_WIRE_VV), "VV");
    free(ent);
    free(vv);
}

/* HEAD (16) and CONSISTENCY (17): round trips, sizes, and rejects
 * (spec/audit.md §11). */
static void test_witness_messages(void **state) {
    (void)state;
    ent_wire_msg m, d;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_HEAD;
    m.u.head.len = ENT_WIRE_HEAD_MAX;
    fill(m.u.head.bytes, ENT_WIRE_HEAD_MAX, 16);
    round_trip(&m, &d);
    assert_int_equal(d.type, ENT_WIRE_HEAD);
    assert_int_equal(d.u.head.len, ENT_WIRE_HEAD_MAX);
    assert_memory_equal(d.u.head.bytes, m.u.head.bytes, ENT_WIRE_HEAD_MAX);
    assert_string_equal(ent_wire_type_name(ENT_WIRE_HEAD), "HEAD");
    m.u.head.len = 0; /* empty head */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    for (int answer = 0; answer < 2; answer++) {
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_CONSISTENCY;
        m.u.cons.from = 3;
        m.u.cons.to = (uint64_t)1 << 40;
        if (answer) {
            m.u.cons.nhashes = ENT_WIRE_MAX_CPROOF;
            fill((uint8_t *)m.u.cons.hashes, sizeof(m.u.cons.hashes), 17);
            m.u.cons.has_sig = true;
            fill(m.u.cons.sig, ENT_WIRE_SIG_LEN, 18);
        }
        round_trip(&m, &d); /* every truncation fails, too */
        assert_int_equal(d.type, ENT_WIRE_CONSISTENCY);
        assert_int_equal(d.u.cons.from, 3);
        assert_int_equal(d.u.cons.to, (uint64_t)1 << 40);
        assert_int_equal(d.u.cons.nhashes, m.u.cons.nhashes);
        assert_int_equal(d.u.cons.has_sig, answer);
        assert_memory_equal(d.u.cons.hashes, m.u.cons.hashes,
                            sizeof(m.u.cons.hashes));
        assert_memory_equal(d.u.cons.sig, m.u.cons.sig, ENT_WIRE_SIG_LEN);
    }
    /* a request carrying a proof, a proof of 65 hashes: invalid */
    m.u.cons.has_sig = false;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.cons.has_sig = true;
    m.u.cons.nhashes = ENT_WIRE_MAX_CPROOF + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    /* hand-made: proof not a multiple of 32, sig of 63 bytes */
    const uint8_t bad1[] = {0x95, 0x11, 0x01, 0x02, 0xc4, 0x01, 0x00,
                            0xc4, 0x00};
    assert_int_equal(ent_wire_decode(&d, bad1, sizeof(bad1)), ENT_EPROTO);
    uint8_t bad2[9 + 63] = {0x95, 0x11, 0x01, 0x02, 0xc4, 0x00, 0xc4, 63};
    assert_int_equal(ent_wire_decode(&d, bad2, 8 + 63), ENT_EPROTO);

    /* REWIND (spec/audit.md §11.1): ASK empty, KEPT a head or nothing,
     * DECLARE 1..512 bytes; exact bytes of an ASK */
    const size_t lens[] = {0, 0, ENT_WIRE_HEAD_MAX, 1, ENT_WIRE_REWIND_MAX};
    const uint32_t kinds[] = {ENT_WIRE_REWIND_ASK, ENT_WIRE_REWIND_KEPT,
                              ENT_WIRE_REWIND_KEPT, ENT_WIRE_REWIND_DECLARE,
                              ENT_WIRE_REWIND_DECLARE};
    for (size_t i = 0; i < 5; i++) {
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_REWIND;
        m.u.rewind.kind = kinds[i];
        m.u.rewind.len = lens[i];
        fill(m.u.rewind.bytes, lens[i], 19);
        round_trip(&m, &d);
        assert_int_equal(d.u.rewind.kind, kinds[i]);
        assert_int_equal(d.u.rewind.len, lens[i]);
        assert_memory_equal(d.u.rewind.bytes, m.u.rewind.bytes, lens[i]);
    }
    assert_string_equal(ent_wire_type_name(ENT_WIRE_REWIND), "REWIND");
    m.u.rewind.kind = ENT_WIRE_REWIND_ASK; /* an ASK with bytes */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.rewind.kind = 3;
    m.u.rewind.len = 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    const uint8_t ask[] = {0x93, 0x19, 0x00, 0xc4, 0x00};
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_REWIND;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_int_equal(len, sizeof(ask));
    assert_memory_equal(buf, ask, sizeof(ask));
    free(buf);
    buf = NULL;
    const uint8_t bad3[] = {0x93, 0x19, 0x03, 0xc4, 0x00};  /* kind 3 */
    const uint8_t bad4[] = {0x93, 0x19, 0x02, 0xc4, 0x00};  /* empty */
    const uint8_t bad5[] = {0x93, 0x19, 0x00, 0xc4, 0x01, 0x00};
    assert_int_equal(ent_wire_decode(&d, bad3, sizeof(bad3)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, bad4, sizeof(bad4)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, bad5, sizeof(bad5)), ENT_EPROTO);
}

/* Exact bytes pin the layout of spec/protocol.md. */
static void test_exact_encoding(void **state) {
    (void)state;
    ent_wire_msg m;
    uint8_t *buf = NULL;
    size_t len = 0;

    sample(&m, ENT_WIRE_PING);
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    const uint8_t ping[] = {0x92, 0x09, 0xc4, 0x08, 9, 16, 23, 30, 37, 44, 51, 58};
    assert_int_equal(len, sizeof(ping));
    assert_memory_equal(buf, ping, len);
    free(buf);

    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_ERROR;
    m.u.error.code = -1;
    strcpy(m.u.error.text, "no");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    const uint8_t err[] = {0x93, 0x0b, 0xff, 0xa2, 'n', 'o'};
    assert_int_equal(len, sizeof(err));
    assert_memory_equal(buf, err, len);
    free(buf);

    /* the HELLO example of spec/protocol.md, both ways */
    const uint8_t hello[] = {0x95, 0x01, 0x01, 0x90, 0xa4, 'a', 'c', 'm', 'e', 0x91,
                             0xad, '1', '0', '.', '0', '.', '0', '.', '1', ':',
                             '7', '4', '0', '0'};
    ent_wire_msg d;
    assert_int_equal(ent_wire_decode(&d, hello, sizeof(hello)), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_HELLO);
    assert_int_equal(d.u.hello.version, 1);
    assert_int_equal(d.u.hello.ncaps, 0);
    assert_string_equal(d.u.hello.name, "acme");
    assert_int_equal(d.u.hello.naddrs, 1);
    assert_string_equal(d.u.hello.addrs[0], "10.0.0.1:7400");
    assert_int_equal(ent_wire_encode(&d, &buf, &len), ENT_OK);
    assert_int_equal(len, sizeof(hello));
    assert_memory_equal(buf, hello, len);
    free(buf);

    /* longer-than-needed forms are accepted: d0 05 is 5, dc 00 02 an array */
    const uint8_t loose[] = {0xdc, 0x00, 0x02, 0xd0, 0x09, 0xc6, 0, 0, 0, 8,
                             1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(ent_wire_decode(&d, loose, sizeof(loose)), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_PING);
    assert_memory_equal(d.u.nonce, loose + 10, 8);

    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_ACK;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_int_equal(len, 1 + 1 + 34 + 1);
    assert_int_equal(buf[0], 0x93);
    assert_int_equal(buf[1], 0x06);
    assert_int_equal(buf[2], 0xc4);
    assert_int_equal(buf[3], 0x20);
    assert_int_equal(buf[36], 0x90);
    free(buf);
}

static void test_encoder_rejects_invalid(void **state) {
    (void)state;
    ent_wire_msg m;
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 0;

    m.type = 0;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    assert_null(buf);
    m.type = 63; /* not assigned (13..15 are gossip, 16..17 witness) */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    sample(&m, ENT_WIRE_HELLO);
    m.u.hello.name[0] = '\0';
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    sample(&m, ENT_WIRE_HELLO);
    strcpy(m.u.hello.addrs[0], "127.0.0.1");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    strcpy(m.u.hello.addrs[0], "h:0");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    strcpy(m.u.hello.addrs[0], "h:65536");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    strcpy(m.u.hello.addrs[0], "h:07");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    strcpy(m.u.hello.addrs[0], "[::1:7");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    strcpy(m.u.hello.addrs[0], "a b:7");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    strcpy(m.u.hello.addrs[0], "h:7");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    free(buf);
    sample(&m, ENT_WIRE_HELLO);
    m.u.hello.naddrs = ENT_WIRE_MAX_ADDRS + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    sample(&m, ENT_WIRE_HELLO);
    strcpy(m.u.hello.caps[0], "has space");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    sample(&m, ENT_WIRE_HELLO);
    strcpy(m.u.hello.name, "bad \xc3");
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    sample(&m, ENT_WIRE_HELLO);
    m.u.hello.version = 0;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    sample(&m, ENT_WIRE_OPS);
    m.u.ops.nops = 0;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.ops.nops = ENT_WIRE_MAX_OPS + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    /* the largest lone op that fits one frame, and one byte more */
    ent_wire_bytes one = {op_c, ENT_WIRE_MAX_MSG - ENT_WIRE_OPS_OVERHEAD_ONE};
    sample(&m, ENT_WIRE_OPS);
    m.u.ops.ops = &one;
    m.u.ops.nops = 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_int_equal(len, ENT_WIRE_MAX_MSG);
    ent_wire_msg d;
    assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
    assert_int_equal(d.u.ops.ops[0].len, one.len);
    ent_wire_msg_clear(&d);
    free(buf);
    one.len++;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_ETOOBIG);
    assert_null(buf);
    one.len = ENT_WIRE_MAX_OP_LEN + 1;
    assert_int_equal(ent_wire_encoded_size(&m), 0);

    sample(&m, ENT_WIRE_HAVE);
    m.u.summary.len = ENT_WIRE_MAX_SUMMARY + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    sample(&m, ENT_WIRE_ACK);
    m.u.ack.nids = ENT_WIRE_MAX_ACK_IDS + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
}

/* Packs a message by hand so that the decoder can be fed wrong shapes. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} hand;

static void hand_init(hand *h) {
    msgpack_sbuffer_init(&h->sb);
    msgpack_packer_init(&h->pk, &h->sb, msgpack_sbuffer_write);
}

static void hbin(hand *h, size_t n, uint8_t v) {
    uint8_t b[128];
    memset(b, v, sizeof(b));
    assert_true(n <= sizeof(b));
    msgpack_pack_bin_with_body(&h->pk, b, n);
}

static void hstr(hand *h, const char *s) {
    msgpack_pack_str_with_body(&h->pk, s, strlen(s));
}

static int hdecode(hand *h) {
    ent_wire_msg m;
    int rc = ent_wire_decode(&m, (const uint8_t *)h->sb.data, h->sb.size);
    if (rc == ENT_OK)
        ent_wire_msg_clear(&m);
    else
        assert_int_equal(m.type, 0); /* zeroed on error */
    msgpack_sbuffer_destroy(&h->sb);
    return rc;
}

/* RANGES (22) and LEAF (23): spec/gossip.md §13. */
static void test_recon_messages(void **state) {
    (void)state;
    ent_wire_msg m, d;
    hand h;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_RANGES;
    m.u.ranges.prefix[0] = 0xa0;
    m.u.ranges.bits = 4;
    m.u.ranges.fps[3][0] = 7;
    m.u.ranges.fps[3][39] = 2; /* count 2 */
    m.u.ranges.fps[15][39] = 1;
    round_trip(&m, &d);
    assert_memory_equal(d.u.ranges.fps, m.u.ranges.fps, sizeof(m.u.ranges.fps));
    assert_int_equal(d.u.ranges.bits, 4);
    assert_int_equal(d.u.ranges.prefix[0], 0xa0);
    /* two children sent: 2 x 40 bytes of fingerprints */
    assert_int_equal(ent_wire_encoded_size(&m), 1 + 1 + 4 + 1 + 3 + 2 + 80);
    ent_wire_msg_clear(&d);
    m.u.ranges.bits = 16; /* no children below the deepest range */
    assert_int_equal(ent_wire_encoded_size(&m), 0);
    m.u.ranges.bits = 0; /* prefix bits beyond bits: not canonical */
    assert_int_equal(ent_wire_encoded_size(&m), 0);

    uint8_t (*e)[64] = calloc(3, 64);
    for (int i = 0; i < 3; i++) {
        e[i][0] = 0x12;
        e[i][1] = 0x34;
        e[i][2] = (uint8_t)i;
    }
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_LEAF;
    m.u.leaf.prefix[0] = 0x12;
    m.u.leaf.prefix[1] = 0x34;
    m.u.leaf.bits = 16;
    m.u.leaf.total = 3;
    m.u.leaf.n = 3;
    m.u.leaf.entries = e;
    round_trip(&m, &d);
    assert_int_equal(d.u.leaf.n, 3);
    assert_memory_equal(d.u.leaf.entries, e, 3 * 64);
    ent_wire_msg_clear(&d);
    m.u.leaf.n = 0; /* empty listing */
    m.u.leaf.total = 0;
    round_trip(&m, &d);
    ent_wire_msg_clear(&d);

    /* hand-made: an entry outside the range, entries out of order, a
     * mask naming a child of count 0, a mask and a body that disagree,
     * bits not a multiple of 4 */
    hand_init(&h);
    msgpack_pack_array(&h.pk, 5);
    msgpack_pack_int(&h.pk, ENT_WIRE_LEAF);
    msgpack_pack_bin_with_body(&h.pk, "\x12\x30", 2);
    msgpack_pack_int(&h.pk, 12);
    msgpack_pack_int(&h.pk, 1);
    hbin(&h, 64, 0x55);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 5);
    msgpack_pack_int(&h.pk, ENT_WIRE_LEAF);
    msgpack_pack_bin_with_body(&h.pk, "\x12\x34", 2);
    msgpack_pack_int(&h.pk, 16);
    msgpack_pack_int(&h.pk, 2);
    msgpack_pack_bin(&h.pk, 128);
    msgpack_pack_bin_body(&h.pk, e[1], 64);
    msgpack_pack_bin_body(&h.pk, e[0], 64);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 5);
    msgpack_pack_int(&h.pk, ENT_WIRE_RANGES);
    msgpack_pack_bin_with_body(&h.pk, "\0\0", 2);
    msgpack_pack_int(&h.pk, 0);
    msgpack_pack_int(&h.pk, 1);
    hbin(&h, 40, 0); /* child 0 listed with count 0 */
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 5);
    msgpack_pack_int(&h.pk, ENT_WIRE_RANGES);
    msgpack_pack_bin_with_body(&h.pk, "\0\0", 2);
    msgpack_pack_int(&h.pk, 0);
    msgpack_pack_int(&h.pk, 3);
    hbin(&h, 40, 1); /* two children named, one sent */
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 5);
    msgpack_pack_int(&h.pk, ENT_WIRE_RANGES);
    msgpack_pack_bin_with_body(&h.pk, "\0\0", 2);
    msgpack_pack_int(&h.pk, 6);
    msgpack_pack_int(&h.pk, 1);
    hbin(&h, 40, 1);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h); /* the same with bits 4: fine */
    msgpack_pack_array(&h.pk, 5);
    msgpack_pack_int(&h.pk, ENT_WIRE_RANGES);
    msgpack_pack_bin_with_body(&h.pk, "\0\0", 2);
    msgpack_pack_int(&h.pk, 4);
    msgpack_pack_int(&h.pk, 1);
    hbin(&h, 40, 1);
    assert_int_equal(hdecode(&h), ENT_OK);
    free(e);
}

static void test_decoder_wrong_shapes(void **state) {
    (void)state;
    hand h;

    /* sanity: a hand-packed PING decodes */
    hand_init(&h);
    msgpack_pack_array(&h.pk, 2);
    msgpack_pack_int(&h.pk, ENT_WIRE_PING);
    hbin(&h, 8, 1);
    assert_int_equal(hdecode(&h), ENT_OK);

    /* nonce as str, 7 bytes, 9 bytes */
    hand_init(&h);
    msgpack_pack_array(&h.pk, 2);
    msgpack_pack_int(&h.pk, ENT_WIRE_PING);
    hstr(&h, "12345678");
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    for (size_t n = 7; n <= 9; n += 2) {
        hand_init(&h);
        msgpack_pack_array(&h.pk, 2);
        msgpack_pack_int(&h.pk, ENT_WIRE_PONG);
        hbin(&h, n, 1);
        assert_int_equal(hdecode(&h), ENT_EPROTO);
    }
    /* extra field, missing field */
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, ENT_WIRE_PING);
    hbin(&h, 8, 1);
    msgpack_pack_nil(&h.pk);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 1);
    msgpack_pack_int(&h.pk, ENT_WIRE_PING);
    assert_int_equal(hdecode(&h), ENT_EPROTO);

    /* JOIN_OK: a valid one, then a box of 79 bytes, a key pair of 3
     * elements, a negative epoch, a missing op count, an old 2-field form */
    for (int v = 0; v < 6; v++) {
        hand_init(&h);
        msgpack_pack_array(&h.pk, v == 4 ? 3 : v == 5 ? 2 : 4);
        msgpack_pack_int(&h.pk, ENT_WIRE_JOIN_OK);
        hbin(&h, 32, 1);
        if (v == 5) {
            assert_int_equal(hdecode(&h), ENT_EPROTO);
            continue;
        }
        msgpack_pack_array(&h.pk, 1);
        msgpack_pack_array(&h.pk, v == 2 ? 3 : 2);
        if (v == 3)
            msgpack_pack_int(&h.pk, -1);
        else
            msgpack_pack_uint64(&h.pk, 7);
        hbin(&h, v == 1 ? 79 : 80, 2);
        if (v == 2)
            msgpack_pack_nil(&h.pk);
        if (v != 4)
            msgpack_pack_uint64(&h.pk, 12);
        assert_int_equal(hdecode(&h), v == 0 ? ENT_OK : ENT_EPROTO);
    }

    /* top level: not an array, empty array, type not an int */
    hand_init(&h);
    msgpack_pack_map(&h.pk, 1);
    msgpack_pack_int(&h.pk, 9);
    hbin(&h, 8, 1);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 0);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 2);
    hstr(&h, "9");
    hbin(&h, 8, 1);
    assert_int_equal(hdecode(&h), ENT_EPROTO);

    /* types: 0, 13, 63 and 128 are violations; 64..127 are ignored */
    const int bad[] = {0, 13, 63, 128, 300, -1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hand_init(&h);
        msgpack_pack_array(&h.pk, 1);
        msgpack_pack_int(&h.pk, bad[i]);
        assert_int_equal(hdecode(&h), ENT_EPROTO);
    }
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, 100);
    hstr(&h, "anything");
    msgpack_pack_array(&h.pk, 0);
    ent_wire_msg m;
    assert_int_equal(ent_wire_decode(&m, (const uint8_t *)h.sb.data, h.sb.size),
                     ENT_OK);
    assert_int_equal(m.type, ENT_WIRE_UNKNOWN);
    assert_int_equal(m.u.unknown_type, 100);
    ent_wire_msg_clear(&m);
    msgpack_sbuffer_destroy(&h.sb);

    /* HELLO: version 0, version as str, caps not array, long name, bad addr */
    for (int v = 0; v < 7; v++) {
        hand_init(&h);
        msgpack_pack_array(&h.pk, 5);
        msgpack_pack_int(&h.pk, ENT_WIRE_HELLO);
        if (v == 0)
            msgpack_pack_int(&h.pk, 0);
        else if (v == 1)
            hstr(&h, "1");
        else
            msgpack_pack_int(&h.pk, 1);
        if (v == 2)
            hstr(&h, "ops/1");
        else {
            msgpack_pack_array(&h.pk, 1);
            hstr(&h, "ops/1");
        }
        if (v == 3)
            hstr(&h, "01234567890123456789012345678901234567890123456789012345"
                     "6789012345"); /* 66 bytes */
        else if (v == 4)
            hstr(&h, "nul\x01");
        else
            hstr(&h, "Acme");
        msgpack_pack_array(&h.pk, 1);
        hstr(&h, v == 5 ? "host" : "host:7");
        assert_int_equal(hdecode(&h), v == 6 ? ENT_OK : ENT_EPROTO);
    }

    /* JOIN: invite id of 15 bytes; proof as str; empty name */
    for (int v = 0; v < 4; v++) {
        hand_init(&h);
        msgpack_pack_array(&h.pk, 4);
        msgpack_pack_int(&h.pk, ENT_WIRE_JOIN);
        hbin(&h, v == 0 ? 15 : 16, 1);
        if (v == 1)
            hstr(&h, "01234567890123456789012345678901");
        else
            hbin(&h, 32, 2);
        hstr(&h, v == 2 ? "" : "Globex");
        assert_int_equal(hdecode(&h), v == 3 ? ENT_OK : ENT_EPROTO);
    }

    /* OPS: empty batch, empty op, op as str, object of 31 bytes */
    for (int v = 0; v < 5; v++) {
        hand_init(&h);
        msgpack_pack_array(&h.pk, 3);
        msgpack_pack_int(&h.pk, ENT_WIRE_OPS);
        hbin(&h, v == 3 ? 31 : 32, 1);
        msgpack_pack_array(&h.pk, v == 0 ? 0 : 2);
        if (v != 0) {
            hbin(&h, 10, 3);
            if (v == 1)
                hbin(&h, 0, 0);
            else if (v == 2)
                hstr(&h, "op");
            else
                hbin(&h, 20, 4);
        }
        assert_int_equal(hdecode(&h), v == 4 ? ENT_OK : ENT_EPROTO);
    }

    /* ACK: an id of 33 bytes; ERROR: code as str, code above int32 */
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, ENT_WIRE_ACK);
    hbin(&h, 32, 1);
    msgpack_pack_array(&h.pk, 1);
    hbin(&h, 33, 1);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, ENT_WIRE_ERROR);
    hstr(&h, "1");
    hstr(&h, "x");
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, ENT_WIRE_GOODBYE);
    msgpack_pack_int64(&h.pk, (int64_t)INT32_MAX + 1);
    hstr(&h, "x");
    assert_int_equal(hdecode(&h), ENT_EPROTO);
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, ENT_WIRE_GOODBYE);
    msgpack_pack_int64(&h.pk, INT32_MIN);
    hstr(&h, "bye");
    assert_int_equal(hdecode(&h), ENT_OK);

    /* HAVE: summary over 4 KiB */
    hand_init(&h);
    msgpack_pack_array(&h.pk, 3);
    msgpack_pack_int(&h.pk, ENT_WIRE_HAVE);
    hbin(&h, 32, 1);
    msgpack_pack_bin_with_body(&h.pk, op_c, ENT_WIRE_MAX_SUMMARY + 1);
    assert_int_equal(hdecode(&h), ENT_EPROTO);
}

static void test_truncated_every_length(void **state) {
    (void)state;
    for (int t = ENT_WIRE_HELLO; t <= ENT_WIRE_GOODBYE; t++) {
        ent_wire_msg m, d;
        uint8_t *buf = NULL;
        size_t len = 0;
        sample(&m, t);
        assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
        for (size_t n = 0; n < len; n++) {
            /* copy so that ASan catches any read past n */
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, buf, n);
            assert_int_equal(ent_wire_prescan(cut, n), ENT_EPROTO);
            assert_int_equal(ent_wire_decode(&d, cut, n), ENT_EPROTO);
            free(cut);
        }
        /* and one trailing byte is rejected too */
        uint8_t *more = malloc(len + 1);
        memcpy(more, buf, len);
        more[len] = 0xc0;
        assert_int_equal(ent_wire_prescan(more, len + 1), ENT_EPROTO);
        assert_int_equal(ent_wire_decode(&d, more, len + 1), ENT_EPROTO);
        free(more);
        free(buf);
    }
}

/* ---- pre-scan ------------------------------------------------------------ */

static int scan(const uint8_t *p, size_t n) { return ent_wire_prescan(p, n); }

static void test_prescan_hostile(void **state) {
    (void)state;
    const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    const uint8_t bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff};
    const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(scan(arr32, sizeof(arr32)), ENT_ETOOBIG);
    assert_int_equal(scan(map32, sizeof(map32)), ENT_ETOOBIG);
    assert_int_equal(scan(bin32, sizeof(bin32)), ENT_ETOOBIG);
    assert_int_equal(scan(str32, sizeof(str32)), ENT_ETOOBIG);
    ent_wire_msg m;
    assert_int_equal(ent_wire_decode(&m, arr32, sizeof(arr32)), ENT_ETOOBIG);
    assert_int_equal(ent_wire_decode(&m, bin32, sizeof(bin32)), ENT_ETOOBIG);

    /* counts within the cap but beyond the bytes that remain */
    const uint8_t arr_short[] = {0xdc, 0x10, 0x00, 0xc0, 0xc0};
    assert_int_equal(scan(arr_short, sizeof(arr_short)), ENT_EPROTO);
    const uint8_t bin_short[] = {0xc5, 0x00, 0x10, 1, 2, 3};
    assert_int_equal(scan(bin_short, sizeof(bin_short)), ENT_EPROTO);
    /* one over the container cap */
    uint8_t *big = calloc(1, 5 + 4097);
    big[0] = 0xdd;
    big[3] = 0x10;
    big[4] = 0x01; /* 4097 */
    for (size_t i = 0; i < 4097; i++)
        big[5 + i] = 0xc0;
    assert_int_equal(scan(big, 5 + 4097), ENT_ETOOBIG);
    big[4] = 0x00; /* 4096 nils: fine */
    assert_int_equal(scan(big, 5 + 4096), ENT_OK);
    free(big);

    /* total objects: [[4000 nils] x 3] passes every per-container check */
    size_t n = 1 + 3 * (3 + 4000);
    uint8_t *many = malloc(n);
    size_t p = 0;
    many[p++] = 0x93;
    for (int k = 0; k < 3; k++) {
        many[p++] = 0xdc;
        many[p++] = 4000 >> 8;
        many[p++] = 4000 & 0xff;
        memset(many + p, 0xc0, 4000);
        p += 4000;
    }
    assert_int_equal(p, n);
    assert_int_equal(scan(many, n), ENT_ETOOBIG);
    assert_int_equal(scan(many, 1 + 2 * 4003 - 0), ENT_EPROTO); /* 3rd missing */
    free(many);

    /* 10,000-deep nesting */
    uint8_t *deep = malloc(10001);
    memset(deep, 0x91, 10000);
    deep[10000] = 0xc0;
    assert_int_equal(scan(deep, 10001), ENT_ETOOBIG);
    assert_int_equal(ent_wire_decode(&m, deep, 10001), ENT_ETOOBIG);
    /* exactly 16 levels pass, 17 do not; empty innermost counts too */
    assert_int_equal(scan(deep + 10000 - 16, 17), ENT_OK);
    assert_int_equal(scan(deep + 10000 - 17, 18), ENT_ETOOBIG);
    deep[9999] = 0x90;
    assert_int_equal(scan(deep + 9999 - 15, 16), ENT_OK);
    assert_int_equal(scan(deep + 9999 - 16, 17), ENT_ETOOBIG);
    free(deep);
    /* depth unwinds: [[[nil]], [[nil]]] ... siblings do not add up */
    uint8_t sib[1 + 16 * 8];
    size_t q = 0;
    sib[q++] = 0xdc;
    sib[q++] = 0;
    sib[q++] = 8;
    for (int k = 0; k < 8; k++) {
        for (int d = 0; d < 14; d++)
            sib[q++] = 0x91;
        sib[q++] = 0x90;
    }
    assert_int_equal(scan(sib, q), ENT_OK);

    /* ext, float and the never-used byte */
    const uint8_t fixext1[] = {0x91, 0xd4, 0x01, 0x00};
    const uint8_t ext8[] = {0xc7, 0x01, 0x05, 0x00};
    const uint8_t ext32[] = {0xc9, 0x00, 0x00, 0x00, 0x00, 0x01};
    const uint8_t f32[] = {0xca, 0, 0, 0, 0};
    const uint8_t f64[] = {0xcb, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t c1[] = {0xc1};
    assert_int_equal(scan(fixext1, sizeof(fixext1)), ENT_EPROTO);
    assert_int_equal(scan(ext8, sizeof(ext8)), ENT_EPROTO);
    assert_int_equal(scan(ext32, sizeof(ext32)), ENT_EPROTO);
    assert_int_equal(scan(f32, sizeof(f32)), ENT_EPROTO);
    assert_int_equal(scan(f64, sizeof(f64)), ENT_EPROTO);
    assert_int_equal(scan(c1, sizeof(c1)), ENT_EPROTO);

    /* trailing bytes, two top-level objects, empty input, oversize input */
    const uint8_t two[] = {0x90, 0x90};
    assert_int_equal(scan(two, 2), ENT_EPROTO);
    assert_int_equal(scan(two, 1), ENT_OK);
    assert_int_equal(scan(two, 0), ENT_EPROTO);
    uint8_t *huge = calloc(1, ENT_WIRE_MAX_MSG + 1);
    huge[0] = 0xc6;
    huge[3] = (ENT_WIRE_MAX_MSG - 5) >> 8;
    huge[4] = (ENT_WIRE_MAX_MSG - 5) & 0xff;
    assert_int_equal(scan(huge, ENT_WIRE_MAX_MSG), ENT_OK);
    assert_int_equal(scan(huge, ENT_WIRE_MAX_MSG + 1), ENT_ETOOBIG);
    free(huge);

    /* every scalar kind passes */
    const uint8_t scalars[] = {0x9d, 0x00, 0xe0, 0xc0, 0xc2, 0xc3, 0xcc, 1,
                               0xd1, 1, 2, 0xce, 1, 2, 3, 4, 0xd3, 1, 2, 3,
                               4, 5, 6, 7, 8, 0xa1, 'x', 0xd9, 1, 'y', 0x81,
                               0x01, 0x02, 0xc4, 0x00};
    assert_int_equal(scan(scalars, sizeof(scalars)), ENT_OK);
}

/* ---- frame reader -------------------------------------------------------- */

typedef struct {
    size_t n;
    size_t lens[64];
    uint8_t *data; /* concatenated frames */
    size_t used;
    size_t max_buffered;
    int fail_at; /* return ENT_ECLOSED at this frame index, or -1 */
} got;

static int on_frame(ent_wire_reader *r, const uint8_t *f, size_t len,
                    void *data) {
    got *g = data;
    if (ent_wire_reader_buffered(r) > g->max_buffered)
        g->max_buffered = ent_wire_reader_buffered(r);
    if ((int)g->n == g->fail_at)
        return ENT_ECLOSED;
    assert_true(g->n < 64);
    g->lens[g->n++] = len;
    memcpy(g->data + g->used, f, len);
    g->used += len;
    return ENT_OK;
}

static int on_count(ent_wire_reader *r, const uint8_t *f, size_t len,
                    void *data) {
    (*(size_t *)data)++;
    return ENT_OK;
}

/* Builds a stream of frames of the given lengths; returns its size. */
static size_t make_stream(uint8_t *out, const size_t *lens, size_t n) {
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ent_wire_frame_header(out + p, lens[i]), ENT_OK);
        p += ENT_WIRE_PREFIX_LEN;
        fill(out + p, lens[i], (uint8_t)(i * 31 + 1));
        p += lens[i];
    }
    return p;
}

static void check_frames(const got *g, const uint8_t *stream, const size_t *lens,
                         size_t n) {
    assert_int_equal(g->n, n);
    size_t sp = 0, gp = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g->lens[i], lens[i]);
        sp += ENT_WIRE_PREFIX_LEN;
        assert_memory_equal(g->data + gp, stream + sp, lens[i]);
        sp += lens[i];
        gp += lens[i];
    }
}

/* Feeds stream cut at a and b (a <= b) in three chunks. */
static void feed3(const uint8_t *stream, size_t len, size_t a, size_t b,
                  got *g) {
    ent_wire_reader *r = NULL;
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    g->n = 0;
    g->used = 0;
    assert_int_equal(ent_wire_reader_feed(r, stream, a, on_frame, g), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, stream + a, b - a, on_frame, g),
                     ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, stream + b, len - b, on_frame, g),
                     ENT_OK);
    assert_int_equal(ent_wire_reader_buffered(r), 0);
    ent_wire_reader_free(r);
}

static void test_reader_every_split(void **state) {
    (void)state;
    const size_t lens[] = {1, 5, 37, 3, 200, 1, 64};
    const size_t n = sizeof(lens) / sizeof(lens[0]);
    uint8_t stream[512];
    size_t len = make_stream(stream, lens, n);
    got g = {.data = malloc(len), .fail_at = -1};

    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            feed3(stream, len, a, b, &g);
            check_frames(&g, stream, lens, n);
        }

    /* one byte at a time */
    ent_wire_reader *r = NULL;
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    g.n = g.used = 0;
    for (size_t i = 0; i < len; i++)
        assert_int_equal(ent_wire_reader_feed(r, stream + i, 1, on_frame, &g),
                         ENT_OK);
    check_frames(&g, stream, lens, n);
    ent_wire_reader_free(r);
    free(g.data);
}

static void test_reader_max_frame_and_cap(void **state) {
    (void)state;
    const size_t lens[] = {ENT_WIRE_MAX_FRAME, 2, ENT_WIRE_MAX_FRAME};
    size_t total = 3 * ENT_WIRE_PREFIX_LEN + 2 * ENT_WIRE_MAX_FRAME + 2;
    uint8_t *stream = malloc(total);
    size_t len = make_stream(stream, lens, 3);
    assert_int_equal(len, total);
    got g = {.data = malloc(len), .fail_at = -1};

    /* whole, at a few odd splits, and byte by byte, watching the buffer */
    const size_t cuts[] = {0, 1, 3, 4, 5, 65538, 65539, 65540, 65545, len};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        feed3(stream, len, cuts[i], cuts[i], &g);
        check_frames(&g, stream, lens, 3);
    }
    ent_wire_reader *r = NULL;
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    g.n = g.used = 0;
    size_t max_buf = 0;
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(ent_wire_reader_feed(r, stream + i, 1, on_frame, &g),
                         ENT_OK);
        if (ent_wire_reader_buffered(r) > max_buf)
            max_buf = ent_wire_reader_buffered(r);
    }
    check_frames(&g, stream, lens, 3);
    /* the most ever held: a prefix and all but the last byte of a frame */
    assert_int_equal(max_buf, ENT_WIRE_PREFIX_LEN + ENT_WIRE_MAX_FRAME - 1);
    assert_int_equal(ent_wire_reader_buffered(r), 0);
    ent_wire_reader_free(r);

    /* a smaller reader (e.g. for the handshake) caps lower */
    assert_int_equal(ent_wire_reader_new(&r, 100), ENT_OK);
    uint8_t pre[4];
    assert_int_equal(ent_wire_frame_header(pre, 100), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, pre, 4, on_frame, &g), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, stream, 99, on_frame, &g), ENT_OK);
    assert_int_equal(ent_wire_reader_buffered(r), 103);
    ent_wire_reader_free(r); /* frees a half-filled reader */
    assert_int_equal(ent_wire_reader_new(&r, 100), ENT_OK);
    assert_int_equal(ent_wire_frame_header(pre, 101), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, pre, 4, on_frame, &g), ENT_ETOOBIG);
    ent_wire_reader_free(r);
    assert_int_equal(ent_wire_reader_new(&r, ENT_WIRE_MAX_FRAME + 1),
                     ENT_EINVAL);
    free(stream);
    free(g.data);
}

static void test_reader_rejects(void **state) {
    (void)state;
    got g = {.data = malloc(1024), .fail_at = -1};
    ent_wire_reader *r = NULL;
    uint8_t pre[4];

    /* 65536 announced: refused at the 4th prefix byte, no body needed */
    const uint8_t over[] = {0x00, 0x01, 0x00, 0x00};
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, over, 3, on_frame, &g), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, over + 3, 1, on_frame, &g),
                     ENT_ETOOBIG);
    assert_int_equal(ent_wire_reader_error(r), ENT_ETOOBIG);
    assert_true(ent_wire_reader_buffered(r) <= ENT_WIRE_PREFIX_LEN);
    /* unusable afterwards, even with good input */
    assert_int_equal(ent_wire_frame_header(pre, 1), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, pre, 4, on_frame, &g), ENT_ETOOBIG);
    assert_int_equal(g.n, 0);
    ent_wire_reader_free(r);

    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x00};
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, huge, 5, on_frame, &g), ENT_ETOOBIG);
    ent_wire_reader_free(r);

    const uint8_t zero[] = {0, 0, 0, 0};
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, zero, 4, on_frame, &g), ENT_EPROTO);
    ent_wire_reader_free(r);

    /* a valid frame before an oversize prefix in the same chunk is delivered */
    uint8_t s[4 + 3 + 4];
    assert_int_equal(ent_wire_frame_header(s, 3), ENT_OK);
    memcpy(s + 4, "abc", 3);
    memcpy(s + 7, over, 4);
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    g.n = g.used = 0;
    assert_int_equal(ent_wire_reader_feed(r, s, sizeof(s), on_frame, &g),
                     ENT_ETOOBIG);
    assert_int_equal(g.n, 1);
    assert_memory_equal(g.data, "abc", 3);
    ent_wire_reader_free(r);

    /* a callback error stops at once and poisons the reader */
    const size_t lens[] = {2, 2, 2};
    uint8_t st[18];
    size_t len = make_stream(st, lens, 3);
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    g.n = g.used = 0;
    g.fail_at = 1;
    assert_int_equal(ent_wire_reader_feed(r, st, len, on_frame, &g),
                     ENT_ECLOSED);
    assert_int_equal(g.n, 1);
    assert_int_equal(ent_wire_reader_feed(r, st, len, on_frame, &g),
                     ENT_ECLOSED);
    assert_int_equal(g.n, 1);
    ent_wire_reader_free(r);

    /* header writer limits */
    assert_int_equal(ent_wire_frame_header(pre, 0), ENT_EINVAL);
    assert_int_equal(ent_wire_frame_header(pre, ENT_WIRE_MAX_FRAME + 1),
                     ENT_ETOOBIG);
    assert_int_equal(ent_wire_frame_header(pre, 0x1234), ENT_OK);
    assert_memory_equal(pre, "\x00\x00\x12\x34", 4);
    ent_wire_reader_free(NULL);
    free(g.data);
}

/* The session caps frames at handshake size, then lifts the cap from
 * inside the callback once the handshake is done. */
static int lift_cap(ent_wire_reader *r, const uint8_t *f, size_t len,
                    void *data) {
    size_t *n = data;
    (*n)++;
    if (len == ENT_WIRE_HS3_LEN)
        assert_int_equal(ent_wire_reader_set_max(r, 0), ENT_OK);
    return ENT_OK;
}

static void test_reader_set_max(void **state) {
    (void)state;
    const size_t lens[] = {ENT_WIRE_HS3_LEN, 1000, ENT_WIRE_MAX_FRAME};
    size_t total = 12 + ENT_WIRE_HS3_LEN + 1000 + ENT_WIRE_MAX_FRAME;
    uint8_t *st = malloc(total);
    size_t len = make_stream(st, lens, 3);
    ent_wire_reader *r = NULL;
    size_t n = 0;

    assert_int_equal(ent_wire_reader_new(&r, ENT_WIRE_HANDSHAKE_MAX_FRAME),
                     ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, st, len, lift_cap, &n), ENT_OK);
    assert_int_equal(n, 3);
    ent_wire_reader_free(r);

    /* without lifting it, the 1000-byte frame is refused */
    n = 0;
    assert_int_equal(ent_wire_reader_new(&r, ENT_WIRE_HANDSHAKE_MAX_FRAME),
                     ENT_OK);
    size_t cut = ENT_WIRE_PREFIX_LEN + ENT_WIRE_HS3_LEN + 2;
    assert_int_equal(ent_wire_reader_feed(r, st, cut, on_count, &n), ENT_OK);
    assert_int_equal(ent_wire_reader_feed(r, st + cut, len - cut, on_count, &n),
                     ENT_ETOOBIG);
    assert_int_equal(n, 1);
    assert_int_equal(ent_wire_reader_set_max(r, ENT_WIRE_MAX_FRAME + 1),
                     ENT_EINVAL);
    ent_wire_reader_free(r);
    free(st);
}

/* Frames carrying encoded messages, end to end through reader and decoder. */
typedef struct {
    int n;
    int types[16];
} seen;

static int decode_frame(ent_wire_reader *r, const uint8_t *f, size_t len,
                        void *data) {
    seen *s = data;
    ent_wire_msg m;
    int rc = ent_wire_decode(&m, f, len);
    if (rc != ENT_OK)
        return rc;
    s->types[s->n++] = m.type;
    ent_wire_msg_clear(&m);
    return ENT_OK;
}

static void test_stream_of_messages(void **state) {
    (void)state;
    uint8_t *stream = malloc(200000);
    size_t p = 0;
    for (int t = ENT_WIRE_HELLO; t <= ENT_WIRE_GOODBYE; t++) {
        ent_wire_msg m;
        size_t len = 0;
        sample(&m, t);
        assert_int_equal(ent_wire_encode_to(&m, stream + p + 4, 200000 - p - 4,
                                            &len),
                         ENT_OK);
        assert_int_equal(ent_wire_frame_header(stream + p, len), ENT_OK);
        p += 4 + len;
    }
    ent_wire_reader *r = NULL;
    seen s = {0};
    assert_int_equal(ent_wire_reader_new(&r, 0), ENT_OK);
    for (size_t i = 0; i < p; i += 13) {
        size_t n = p - i < 13 ? p - i : 13;
        assert_int_equal(ent_wire_reader_feed(r, stream + i, n, decode_frame, &s),
                         ENT_OK);
    }
    assert_int_equal(s.n, ENT_WIRE_GOODBYE);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.types[i], i + 1);
    ent_wire_reader_free(r);
    free(stream);
}

static void test_names_and_codes(void **state) {
    (void)state;
    assert_string_equal(ent_wire_type_name(ENT_WIRE_OPS), "OPS");
    assert_string_equal(ent_wire_type_name(99), "?");
    assert_int_equal(ent_wire_code_to_err(ENT_WIRE_C_TOOBIG), ENT_ETOOBIG);
    assert_int_equal(ent_wire_code_to_err(ENT_WIRE_C_INVITE_USED), ENT_EUSED);
    assert_int_equal(ent_wire_code_to_err(12345), ENT_EIO);
    assert_int_equal(ent_wire_code_from_err(ENT_EPROTO), ENT_WIRE_C_PROTO);
    assert_int_equal(ent_wire_code_from_err(ENT_ENOMEM), ENT_WIRE_C_INTERNAL);
    assert_int_equal(ent_wire_code_to_err(ent_wire_code_from_err(ENT_ELIMIT)),
                     ENT_ELIMIT);
    /* the lone-op overhead constant matches the encoder */
    ent_wire_msg m;
    ent_wire_bytes one = {op_c, 300};
    sample(&m, ENT_WIRE_OPS);
    m.u.ops.ops = &one;
    m.u.ops.nops = 1;
    assert_int_equal(ent_wire_encoded_size(&m), 300 + ENT_WIRE_OPS_OVERHEAD_ONE);
}

/* ADDRS (type 64): records round-trip as opaque bytes; 1..16 records of
 * 1..1024 bytes; an empty list, an empty or oversized record, a str where
 * a bin belongs are refused both ways. */
static void test_addrs_message(void **state) {
    (void)state;
    uint8_t r1[3] = {1, 2, 3}, big[ENT_WIRE_MAX_ADDR_REC + 1];
    ent_wire_bytes recs[ENT_WIRE_MAX_ADDR_RECS + 1];
    ent_wire_msg m, d;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(big, 7, sizeof(big));
    for (size_t i = 0; i < ENT_WIRE_MAX_ADDR_RECS + 1; i++)
        recs[i] = (ent_wire_bytes){i % 2 ? big : r1, i % 2 ? ENT_WIRE_MAX_ADDR_REC : 3};
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_ADDRS;
    m.u.addrs.recs = recs;
    m.u.addrs.nrecs = ENT_WIRE_MAX_ADDR_RECS;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_int_equal(len, ent_wire_encoded_size(&m));
    assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_ADDRS);
    assert_int_equal(d.u.addrs.nrecs, ENT_WIRE_MAX_ADDR_RECS);
    for (size_t i = 0; i < d.u.addrs.nrecs; i++) {
        assert_int_equal(d.u.addrs.recs[i].len, recs[i].len);
        assert_memory_equal(d.u.addrs.recs[i].p, recs[i].p, recs[i].len);
    }
    ent_wire_msg_clear(&d);
    free(buf);
    assert_string_equal(ent_wire_type_name(ENT_WIRE_ADDRS), "ADDRS");
    m.u.addrs.nrecs = ENT_WIRE_MAX_ADDR_RECS + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.addrs.nrecs = 0;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    recs[0] = (ent_wire_bytes){big, ENT_WIRE_MAX_ADDR_REC + 1};
    m.u.addrs.nrecs = 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    /* hand-made: [64, []], [64, [bin(0)]], [64, [str "ab"]], [64, [bin 1025]] */
    uint8_t e1[] = {0x92, 0x40, 0x90};
    assert_int_equal(ent_wire_decode(&d, e1, sizeof(e1)), ENT_EPROTO);
    uint8_t e2[] = {0x92, 0x40, 0x91, 0xc4, 0x00};
    assert_int_equal(ent_wire_decode(&d, e2, sizeof(e2)), ENT_EPROTO);
    uint8_t e3[] = {0x92, 0x40, 0x91, 0xa2, 'a', 'b'};
    assert_int_equal(ent_wire_decode(&d, e3, sizeof(e3)), ENT_EPROTO);
    uint8_t e4[6 + ENT_WIRE_MAX_ADDR_REC + 1] = {0x92, 0x40, 0x91, 0xc5, 0x04,
                                                 0x01};
    assert_int_equal(ent_wire_decode(&d, e4, sizeof(e4)), ENT_EPROTO);
    uint8_t ok[] = {0x92, 0x40, 0x91, 0xc4, 0x01, 0x09};
    assert_int_equal(ent_wire_decode(&d, ok, sizeof(ok)), ENT_OK);
    assert_int_equal(d.u.addrs.nrecs, 1);
    ent_wire_msg_clear(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_recon_messages),
        cmocka_unit_test(test_witness_messages),
        cmocka_unit_test(test_gossip_messages),
        cmocka_unit_test(test_addrs_message),
        cmocka_unit_test(test_exact_encoding),
        cmocka_unit_test(test_encoder_rejects_invalid),
        cmocka_unit_test(test_decoder_wrong_shapes),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_prescan_hostile),
        cmocka_unit_test(test_reader_every_split),
        cmocka_unit_test(test_reader_max_frame_and_cap),
        cmocka_unit_test(test_reader_rejects),
        cmocka_unit_test(test_reader_set_max),
        cmocka_unit_test(test_stream_of_messages),
        cmocka_unit_test(test_names_and_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
