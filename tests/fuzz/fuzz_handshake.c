/*
 * fuzz_handshake.c - libFuzzer target for the Noise XX handshake reader.
 *
 * Every input is tried three ways, with fixed keys on both sides so that
 * the run is deterministic (and a valid transcript can be a seed):
 *   1. a responder reads the whole input as message 1; if that succeeds it
 *      writes message 2 and reads the whole input again as message 3;
 *   2. framed: a 2-byte big-endian length L, then message 1 (L bytes), then
 *      message 3 (the rest), read by a responder; a valid pair completes the
 *      handshake and the transport ciphers are exercised;
 *   3. an initiator writes its (fixed) message 1 and reads the whole input
 *      as message 2; if that succeeds it writes message 3 and splits.
 * Seeds (tests/fuzz/corpus/handshake/): msg1 and msg2 of a fixed-key run,
 * and msg1+msg3 framed as in 2.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/noise.h"
#include "node/err.h"

/* Fixed secret keys: byte i of key number k is k * 32 + i + 1. */
static void fixed_key(uint8_t out[32], int k) {
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(k * 32 + i + 1);
}

enum { KEY_I_S, KEY_I_E, KEY_R_S, KEY_R_E };

static const uint8_t prologue[] = ENT_NOISE_PROLOGUE;

static ent_noise *party(bool initiator) {
    uint8_t s[32], e[32];
    ent_noise *n = NULL;

    fixed_key(s, initiator ? KEY_I_S : KEY_R_S);
    fixed_key(e, initiator ? KEY_I_E : KEY_R_E);
    if (ent_noise_new(&n, ENT_NOISE_XX, initiator, prologue,
                      ENT_NOISE_PROLOGUE_LEN, s, NULL, e) != ENT_OK)
        abort();
    return n;
}

/* After a finished handshake: split and push one message each way. */
static void transport(ent_noise *n) {
    ent_noise_cipher *send = NULL, *recv = NULL;
    uint8_t ct[64], pt[64];
    uint8_t rs[32];

    if (!ent_noise_done(n) || ent_noise_remote_static(n, rs) != ENT_OK)
        abort();
    if (ent_noise_split(n, &send, &recv) != ENT_OK)
        abort();
    if (ent_noise_encrypt(send, NULL, 0, (const uint8_t *)"ping", 4, ct) !=
        ENT_OK)
        abort();
    /* our own ciphertext is not for our receive direction */
    if (ent_noise_decrypt(recv, NULL, 0, ct, 20, pt) != ENT_EDECRYPT)
        abort();
    ent_noise_cipher_free(send);
    ent_noise_cipher_free(recv);
}

/* Reads msg as the next message; checks the failure contract. */
static int read_msg(ent_noise *n, const uint8_t *msg, size_t len,
                    uint8_t *pbuf) {
    size_t plen = 12345;
    int rc = ent_noise_read(n, msg, len, pbuf, ENT_NOISE_MAX_MSG, &plen);

    if (rc == ENT_OK) {
        if (plen > len)
            abort();
    } else {
        if (plen != 0 || !ent_noise_failed(n))
            abort();
        if (rc != ENT_EPROTO && rc != ENT_EDECRYPT && rc != ENT_ETOOBIG)
            abort();
    }
    return rc;
}

static void responder(const uint8_t *m1, size_t l1, const uint8_t *m3,
                      size_t l3, uint8_t *buf, uint8_t *pbuf) {
    ent_noise *r = party(false);
    size_t len;

    if (read_msg(r, m1, l1, pbuf) != ENT_OK)
        goto out;
    if (ent_noise_write(r, NULL, 0, buf, ENT_NOISE_MAX_MSG, &len) != ENT_OK)
        goto out; /* a low-order ephemeral in message 1 */
    if (read_msg(r, m3, l3, pbuf) != ENT_OK)
        goto out;
    transport(r);
out:
    ent_noise_free(r);
}

static void initiator(const uint8_t *m2, size_t l2, uint8_t *buf,
                      uint8_t *pbuf) {
    ent_noise *i = party(true);
    size_t len;

    if (ent_noise_write(i, NULL, 0, buf, ENT_NOISE_MAX_MSG, &len) != ENT_OK)
        abort();
    if (read_msg(i, m2, l2, pbuf) != ENT_OK)
        goto out;
    if (ent_noise_write(i, NULL, 0, buf, ENT_NOISE_MAX_MSG, &len) != ENT_OK)
        abort();
    transport(i);
out:
    ent_noise_free(i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(ENT_NOISE_MAX_MSG);
    uint8_t *pbuf = malloc(ENT_NOISE_MAX_MSG);

    if (buf == NULL || pbuf == NULL)
        abort();
    responder(data, size, data, size, buf, pbuf);
    if (size >= 2) {
        size_t l1 = (size_t)data[0] << 8 | data[1];
        if (l1 <= size - 2)
            responder(data + 2, l1, data + 2 + l1, size - 2 - l1, buf, pbuf);
    }
    initiator(data, size, buf, pbuf);
    free(buf);
    free(pbuf);
    return 0;
}
