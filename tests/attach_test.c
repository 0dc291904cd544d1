/*
 * attach_test.c - attachments (spec/objects.md "Attachments"): the attach
 * body and the CHUNK_WANT / CHUNK codecs, and the engine: a file attached
 * on the author reads back; a member that applied the attach op knows the
 * manifest but holds no chunk; it stores a chunk only when its hash is
 * listed (a tampered chunk and another object's chunk are refused); what
 * it stored stays when its engine and store are opened again (resume:
 * only the rest is missing); once complete it reads the same bytes;
 * no chunk holds the file in clear; erasing the object drops them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "protocol/op.h"
#include "protocol/wire.h"
#include "tests/object_fixture.h"

static void test_attach_body_codec(void **state) {
    (void)state;
    uint8_t hashes[3 * 32];
    memset(hashes, 0x42, sizeof(hashes));
    ent_op_body b = {.kind = ENT_OP_ATTACH,
                     .fsize = 2 * ENT_OP_CHUNK + 5,
                     .chunks = hashes,
                     .nchunks = 3};
    strcpy(b.fname, "brief.pdf");
    memset(b.fhash, 7, 32);
    uint8_t *enc = NULL;
    size_t len;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    ent_op_body d;
    assert_int_equal(ent_op_body_decode(&d, ENT_OP_ATTACH, enc, len), ENT_OK);
    assert_string_equal(d.fname, "brief.pdf");
    assert_true(d.fsize == b.fsize && d.nchunks == 3);
    assert_memory_equal(d.chunks, hashes, sizeof(hashes));
    ent_op_body_clear(&d);
    free(enc);
    /* a chunk count that does not match the size; bad names; sizes */
    b.nchunks = 2;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    b.nchunks = 3;
    strcpy(b.fname, "../etc/passwd");
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    strcpy(b.fname, "..");
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    strcpy(b.fname, "a\nb");
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    strcpy(b.fname, "ok.txt");
    b.fsize = 0;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    b.fsize = ENT_OP_FILE_MAX + 1;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    /* a hand-made body whose count disagrees with its size:
     * ["x", 1, h'00'*32, []] */
    uint8_t raw[64];
    size_t o = 0;
    raw[o++] = 0x84;
    raw[o++] = 0x61;
    raw[o++] = 'x';
    raw[o++] = 0x01;
    raw[o++] = 0x58;
    raw[o++] = 32;
    memset(raw + o, 0, 32);
    o += 32;
    raw[o++] = 0x80;
    assert_int_equal(ent_op_body_decode(&d, ENT_OP_ATTACH, raw, o),
                     ENT_ECORRUPT);
}

static void test_chunk_messages(void **state) {
    (void)state;
    ent_wire_msg m, d;
    uint8_t *buf = NULL, data[ENT_WIRE_MAX_CHUNK];
    size_t len;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CHUNK_WANT;
    memset(m.u.chunk_want.object, 0xaa, 32);
    m.u.chunk_want.n = ENT_WIRE_MAX_CHUNK_WANT;
    for (size_t i = 0; i < ENT_WIRE_MAX_CHUNK_WANT; i++)
        memset(m.u.chunk_want.hashes[i], (int)i, 32);
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_int_equal(len, ent_wire_encoded_size(&m));
    assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_CHUNK_WANT);
    assert_int_equal(d.u.chunk_want.n, ENT_WIRE_MAX_CHUNK_WANT);
    assert_memory_equal(d.u.chunk_want.hashes, m.u.chunk_want.hashes,
                        sizeof(m.u.chunk_want.hashes));
    ent_wire_msg_clear(&d);
    free(buf);
    m.u.chunk_want.n = ENT_WIRE_MAX_CHUNK_WANT + 1; /* too many */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.chunk_want.n = 0;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);

    /* the largest chunk fits one message */
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CHUNK;
    ent_random(data, sizeof(data));
    m.u.chunk.data = data;
    m.u.chunk.len = sizeof(data);
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_true(len <= ENT_WIRE_MAX_MSG);
    assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
    assert_int_equal(d.u.chunk.len, sizeof(data));
    assert_memory_equal(d.u.chunk.data, data, sizeof(data));
    ent_wire_msg_clear(&d);
    free(buf);
    /* one byte more is refused */
    m.u.chunk.len = sizeof(data) + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    uint8_t bad[4 + 32 + 3 + 8];
    memcpy(bad, "\x93\x13\xc4\x20", 4);
    memset(bad + 4, 0xaa, 32);
    bad[36] = 0xc5; /* bin16 of 8 bytes, but a hash list of 8 bytes */
    bad[37] = 0;
    bad[38] = 8;
    memset(bad + 39, 1, 8);
    assert_int_equal(ent_wire_decode(&d, bad, sizeof(bad)), ENT_OK);
    ent_wire_msg_clear(&d);
    bad[1] = 0x12; /* as CHUNK_WANT: 8 bytes is no whole hash */
    assert_int_not_equal(ent_wire_decode(&d, bad, sizeof(bad)), ENT_OK);
}

/* ------------------------------------------------------------- engine */

#define SIZE (3 * ENT_OP_CHUNK + 1000)

static bool has_bytes(const char *dir, const uint8_t *needle, size_t nl) {
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    bool found = false;
    for (long i = 0; !found && i + (long)nl <= n; i++)
        found = memcmp(buf + i, needle, nl) == 0;
    free(buf);
    return found;
}

static void test_attach_fetch_resume(void **state) {
    (void)state;
    tnode a, b;
    uint8_t id[32], other[32];
    char err[256];
    ent_op *op = NULL;
    const ent_obj_input in[] = {{"name", "Joint brief", ENT_IN_SHARED}};
    assert_int_equal(tnodes_open_obj(TNODES(&a, &b), 1, "solution", in, 1, id),
                     0);
    assert_int_equal(
        ent_obj_create(a.eng, "solution", in, 1, other, NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(tnode_join(&a, &b, id, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    uint8_t *file = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        file[i] = (uint8_t)(i * 13 + (i >> 9));
    memcpy(file, "PLAINTEXT-CANARY", 16);
    assert_int_equal(ent_obj_attach(a.eng, id, "bad/name", file, SIZE, &op, err,
                                    sizeof(err)),
                     ENT_EINVAL);
    assert_int_equal(ent_obj_attach(a.eng, id, "brief.bin", file, SIZE, &op,
                                    err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(op->h.kind, ENT_OP_ATTACH);
    /* the author reads it back */
    uint8_t *got = NULL;
    size_t glen = 0;
    assert_int_equal(
        ent_obj_attachment_read(a.eng, id, "brief.bin", &got, &glen), ENT_OK);
    assert_int_equal(glen, SIZE);
    assert_memory_equal(got, file, SIZE);
    free(got);
    assert_false(has_bytes(a.dir, (const uint8_t *)"PLAINTEXT-CANARY", 16));

    /* b applies the op: the manifest, no chunk */
    const uint8_t *raw = op->raw;
    size_t rlen = op->rawlen;
    int rcs[1];
    assert_int_equal(ent_obj_apply_batch(b.eng, &raw, &rlen, 1, NULL, rcs),
                     ENT_OK);
    assert_int_equal(rcs[0], ENT_OK);
    ent_op_free(op);
    ent_obj_attachment *v = NULL;
    size_t nv = 0;
    assert_int_equal(ent_obj_attachments(b.eng, id, &v, &nv), ENT_OK);
    assert_int_equal(nv, 1);
    assert_int_equal(v[0].nchunks, 4);
    assert_int_equal(v[0].have, 0);
    free(v);
    assert_int_equal(
        ent_obj_attachment_read(b.eng, id, "brief.bin", &got, &glen),
        ENT_EAGAIN);
    uint8_t miss[8 * 32], h[32];
    size_t n = 0, total = 0;
    assert_int_equal(
        ent_obj_attachment_missing(b.eng, id, "brief.bin", miss, 8, &n, &total),
        ENT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(total, 4);

    /* a tampered chunk hashes to nothing listed; another object's too */
    uint8_t *ch = NULL;
    size_t clen = 0;
    assert_int_equal(ent_obj_chunk_get(a.eng, id, miss, &ch, &clen), ENT_OK);
    ch[40] ^= 1;
    assert_int_equal(ent_obj_chunk_put(b.eng, id, ch, clen, h), ENT_EDENIED);
    ch[40] ^= 1;
    assert_int_equal(ent_obj_chunk_put(b.eng, other, ch, clen, h), ENT_EDENIED);
    /* the first two arrive, then b's node "restarts" */
    assert_int_equal(ent_obj_chunk_put(b.eng, id, ch, clen, h), ENT_OK);
    assert_memory_equal(h, miss, 32);
    assert_int_equal(ent_obj_chunk_put(b.eng, id, ch, clen, h), ENT_EEXIST);
    free(ch);
    assert_int_equal(ent_obj_chunk_get(a.eng, id, miss + 32, &ch, &clen),
                     ENT_OK);
    assert_int_equal(ent_obj_chunk_put(b.eng, id, ch, clen, h), ENT_OK);
    free(ch);
    ent_objects_free(b.eng);
    ent_store_close(b.store);
    assert_int_equal(ent_store_open(&b.store, b.dir, 0, NULL), ENT_OK);
    ent_objects_config cfg = {.store = b.store,
                              .id = b.id,
                              .log = &b.log,
                              .clock = tnode_clock,
                              .clock_data = &b.now};
    assert_int_equal(ent_objects_new(&b.eng, &cfg), ENT_OK);
    uint8_t rest[8 * 32];
    assert_int_equal(
        ent_obj_attachment_missing(b.eng, id, "brief.bin", rest, 8, &n, &total),
        ENT_OK);
    assert_int_equal(n, 2); /* only the rest is asked for */
    assert_memory_equal(rest, miss + 64, 64);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(
            ent_obj_chunk_get(a.eng, id, rest + i * 32, &ch, &clen), ENT_OK);
        assert_int_equal(ent_obj_chunk_put(b.eng, id, ch, clen, h), ENT_OK);
        free(ch);
    }
    assert_int_equal(
        ent_obj_attachment_read(b.eng, id, "brief.bin", &got, &glen), ENT_OK);
    assert_int_equal(glen, SIZE);
    assert_memory_equal(got, file, SIZE);
    free(got);

    /* erasing the object drops manifests and chunks on both */
    assert_int_equal(ent_obj_erase(a.eng, id, NULL, &op, err, sizeof(err)),
                     ENT_OK);
    raw = op->raw;
    rlen = op->rawlen;
    assert_int_equal(ent_obj_apply_batch(b.eng, &raw, &rlen, 1, NULL, rcs),
                     ENT_OK);
    assert_int_equal(rcs[0], ENT_OK);
    ent_op_free(op);
    for (tnode *t = &a; t != NULL; t = t == &a ? &b : NULL) {
        assert_int_equal(ent_obj_attachments(t->eng, id, &v, &nv), ENT_OK);
        assert_int_equal(nv, 0);
        free(v);
        assert_int_equal(ent_obj_chunk_get(t->eng, id, miss, &ch, &clen),
                         ENT_ENOENT);
    }
    free(file);
    tnodes_close(TNODES(&a, &b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_body_codec),
        cmocka_unit_test(test_chunk_messages),
        cmocka_unit_test(test_attach_fetch_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
