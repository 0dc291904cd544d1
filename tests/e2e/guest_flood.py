#!/usr/bin/env python3
"""tests/e2e/guest_flood.py - a flood of guest sessions against one node.

    guest_flood.py HOST:PORT ORG_ID SESSIONS SECONDS [STATS_FILE]

SESSIONS tasks each hold (or try to hold) one guest session with the node at
HOST:PORT, whose org id (52 base32 characters) is ORG_ID, for SECONDS or
until SIGTERM, whichever comes first: dial,
run the Noise handshake with a fresh org key of its own, wait for the
node's HELLO, say HELLO, then PING every 0.5 s and never JOIN. When the
node closes the session (or refuses it), the task waits 1 s and dials
again. At most 2 handshakes run at once (a refused handshake still costs
the node two signature operations and three X25519: the test wants a
flood, not a test of the machine's speed). At the end it prints (and writes
to STATS_FILE) a JSON object of counts: dials, opened (the handshake went
through), admitted (the node's HELLO came), pongs, closed_after_hello,
max_admitted (admitted sessions at one time, as this side saw them).

It is a second implementation of the session protocol as spec/handshake.md
and spec/protocol.md describe it (Noise_XX_25519_ChaChaPoly_SHA256 with
prologue "entente/1", the identity proof, 4-byte framing, msgpack HELLO and
PING), in Python with libsodium through ctypes. Only 127.0.0.1 is dialled
by the test that runs it (tests/e2e/guest_flood.sh).
"""
import asyncio
import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import json
import os
import signal
import struct
import sys

_lib = ctypes.util.find_library("sodium") or "libsodium.so.23"
na = ctypes.CDLL(_lib)
if na.sodium_init() < 0:
    raise SystemExit("guest_flood: sodium_init failed")

PROLOGUE = b"entente/1"
NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"  # 32 bytes: h = NAME
SIG_CONTEXT = b"entente/v1/handshake\x00"


def buf(n):
    return ctypes.create_string_buffer(n)


def x25519(sk, pk):
    out = buf(32)
    if na.crypto_scalarmult(out, sk, pk) != 0:
        raise ConnectionError("low-order point")
    return out.raw


def x25519_base(sk):
    out = buf(32)
    na.crypto_scalarmult_base(out, sk)
    return out.raw


def aead(key, n, ad, data, decrypt=False):
    nonce = b"\x00" * 4 + struct.pack("<Q", n)
    if decrypt:
        out = buf(max(len(data) - 16, 1))
        outlen = ctypes.c_ulonglong(0)
        rc = na.crypto_aead_chacha20poly1305_ietf_decrypt(
            out, ctypes.byref(outlen), None, data, ctypes.c_ulonglong(len(data)),
            ad, ctypes.c_ulonglong(len(ad)), nonce, key)
        if rc != 0:
            raise ConnectionError("decrypt failed")
        return out.raw[: outlen.value]
    out = buf(len(data) + 16)
    outlen = ctypes.c_ulonglong(0)
    na.crypto_aead_chacha20poly1305_ietf_encrypt(
        out, ctypes.byref(outlen), data, ctypes.c_ulonglong(len(data)),
        ad, ctypes.c_ulonglong(len(ad)), None, nonce, key)
    return out.raw[: outlen.value]


def hkdf2(ck, ikm):
    tk = hmac.new(ck, ikm, hashlib.sha256).digest()
    o1 = hmac.new(tk, b"\x01", hashlib.sha256).digest()
    o2 = hmac.new(tk, o1 + b"\x02", hashlib.sha256).digest()
    return o1, o2


class Org:
    """A fresh Ed25519 org key and its X25519 static key."""

    def __init__(self):
        pk, sk = buf(32), buf(64)
        na.crypto_sign_keypair(pk, sk)
        self.pk, self.sk = pk.raw, sk.raw
        xpk, xsk = buf(32), buf(32)
        na.crypto_sign_ed25519_pk_to_curve25519(xpk, self.pk)
        na.crypto_sign_ed25519_sk_to_curve25519(xsk, self.sk)
        self.xpk, self.xsk = xpk.raw, xsk.raw

    def proof(self, h_prev):
        sig = buf(64)
        m = SIG_CONTEXT + h_prev
        na.crypto_sign_detached(sig, None, m, ctypes.c_ulonglong(len(m)),
                                self.sk)
        return self.pk + sig.raw


class Handshake:
    """Noise XX, initiator side (Noise revision 34, section 5)."""

    def __init__(self, org):
        self.org = org
        self.h = NAME
        self.ck = NAME
        self.k = None
        self.n = 0
        self.mix_hash(PROLOGUE)
        self.e = os.urandom(32)
        self.epub = x25519_base(self.e)

    def mix_hash(self, data):
        self.h = hashlib.sha256(self.h + data).digest()

    def mix_key(self, ikm):
        self.ck, self.k = hkdf2(self.ck, ikm)
        self.n = 0

    def encrypt_and_hash(self, p):
        if self.k is None:
            self.mix_hash(p)
            return p
        c = aead(self.k, self.n, self.h, p)
        self.n += 1
        self.mix_hash(c)
        return c

    def decrypt_and_hash(self, c):
        p = aead(self.k, self.n, self.h, c, decrypt=True)
        self.n += 1
        self.mix_hash(c)
        return p

    def msg1(self):  # -> e
        self.mix_hash(self.epub)
        return self.epub + self.encrypt_and_hash(b"")

    def read_msg2(self, m, expected_org):  # <- e, ee, s, es
        if len(m) != 192:
            raise ConnectionError("message 2 of %d bytes" % len(m))
        h_prev = self.h  # the hash at the start of message 2
        self.re = m[:32]
        self.mix_hash(self.re)
        self.mix_key(x25519(self.e, self.re))
        self.rs = self.decrypt_and_hash(m[32:80])
        self.mix_key(x25519(self.e, self.rs))
        auth = self.decrypt_and_hash(m[80:])
        if len(auth) != 96 or auth[:32] != expected_org:
            raise ConnectionError("not the org we dialled")
        m2 = SIG_CONTEXT + h_prev
        if na.crypto_sign_verify_detached(auth[32:], m2,
                                          ctypes.c_ulonglong(len(m2)),
                                          auth[:32]) != 0:
            raise ConnectionError("bad identity proof")

    def msg3(self):  # -> s, se
        h_prev = self.h
        c = self.encrypt_and_hash(self.org.xpk)
        self.mix_key(x25519(self.org.xsk, self.re))
        c += self.encrypt_and_hash(self.org.proof(h_prev))
        assert len(c) == 160
        k1, k2 = hkdf2(self.ck, b"")
        return c, k1, k2


def msgpack_hello(name):
    # [1, 1, [], name, []]
    return bytes([0x95, 0x01, 0x01, 0x90, 0xA0 | len(name)]) + name + b"\x90"


def msgpack_ping():
    return bytes([0x92, 0x09, 0xC4, 0x08]) + os.urandom(8)


class Session:
    def __init__(self, reader, writer, tx, rx):
        self.r, self.w = reader, writer
        self.tx, self.rx = tx, rx
        self.ntx = self.nrx = 0

    async def read_frame(self):
        hdr = await self.r.readexactly(4)
        (n,) = struct.unpack(">I", hdr)
        if n == 0 or n > 65535:
            raise ConnectionError("bad frame length")
        return await self.r.readexactly(n)

    async def recv(self):
        c = await self.read_frame()
        p = aead(self.rx, self.nrx, b"", c, decrypt=True)
        self.nrx += 1
        return p

    def send(self, msg):
        c = aead(self.tx, self.ntx, b"", msg)
        self.ntx += 1
        self.w.write(struct.pack(">I", len(c)) + c)


stats = {"dials": 0, "opened": 0, "admitted": 0, "pongs": 0,
         "closed_after_hello": 0, "max_admitted": 0}
admitted_now = 0


async def one_session(host, port, node_org, gate):
    global admitted_now
    org = Org()
    async with gate:  # at most 2 handshakes at once
        stats["dials"] += 1
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), 5)
        try:
            hs = Handshake(org)
            m1 = hs.msg1()
            writer.write(struct.pack(">I", len(m1)) + m1)
            hdr = await asyncio.wait_for(reader.readexactly(4), 5)
            (n,) = struct.unpack(">I", hdr)
            hs.read_msg2(await reader.readexactly(n), node_org)
            m3, k1, k2 = hs.msg3()
            writer.write(struct.pack(">I", len(m3)) + m3)
            await writer.drain()
        except BaseException:
            writer.close()
            raise
    stats["opened"] += 1
    s = Session(reader, writer, k1, k2)
    hello = False
    try:
        first = await asyncio.wait_for(s.recv(), 5)
        if len(first) < 2 or first[1] != 0x01:
            return
        hello = True
        stats["admitted"] += 1
        admitted_now += 1
        stats["max_admitted"] = max(stats["max_admitted"], admitted_now)
        s.send(msgpack_hello(b"flood"))
        while True:
            s.send(msgpack_ping())
            await s.w.drain()
            try:
                m = await asyncio.wait_for(s.recv(), 0.5)
                if len(m) >= 2 and m[1] == 0x0A:
                    stats["pongs"] += 1
            except asyncio.TimeoutError:
                pass
    finally:
        if hello:
            admitted_now -= 1
            stats["closed_after_hello"] += 1
        writer.close()


async def task(host, port, node_org, gate, stop):
    while not stop.is_set():
        try:
            await one_session(host, port, node_org, gate)
        except (OSError, ConnectionError, asyncio.IncompleteReadError,
                asyncio.TimeoutError):
            pass
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


def org_key(org_id):
    # 52 lowercase base32 characters, no padding: 32 bytes
    return base64.b32decode(org_id.upper() + "====")[:32]


async def main():
    addr, org_id, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(
        sys.argv[4])
    host, port = addr.rsplit(":", 1)
    node_org = org_key(org_id)
    gate = asyncio.Semaphore(2)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.call_later(secs, stop.set)
    tasks = [asyncio.ensure_future(task(host, int(port), node_org, gate, stop))
             for _ in range(n)]
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out = json.dumps(stats, sort_keys=True)
    print(out)
    if len(sys.argv) > 5:
        with open(sys.argv[5], "w") as f:
            f.write(out + "\n")


if __name__ == "__main__":
    asyncio.run(main())
