#!/usr/bin/env bash
# tests/e2e/api_errors.sh - the errors a running node answers on its socket
# before any handler runs have the one error shape of spec/api.md
# ({"error":{"code","message","field"}}) and the right status: malformed
# HTTP 400 ENT_EPROTO, a head over 16 KiB 413 ENT_ETOOBIG, the 65th
# connection 503 ENT_ELIMIT, an unknown path 404, a wrong method 405 with
# Allow, a bad token 401 ENT_EAUTH; GET /metrics counts them (route
# "(unparsed)" for what the parser refused, "(unmatched)" for the router's)
# and the refused connection.
# Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lib_init apierr
node_start A

python3 - "$T/A/api.sock" <<'PY' || fail "socket-level errors (above)"
import json, re, socket, sys, time

SOCK = sys.argv[1]

def ask(raw, keep=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    s.sendall(raw)
    data = b""
    s.settimeout(10)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return parse(data)

def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdr = dict(l.split(": ", 1) for l in lines[1:])
    return status, hdr, body.decode()

def error_shape(what, status, hdr, body, want_status, want_code):
    assert status == want_status, "%s: status %d, want %d: %s" % (what, status, want_status, body)
    assert hdr["Content-Type"] == "application/json", what
    e = json.loads(body)
    assert list(e) == ["error"], "%s: %s" % (what, body)
    err = e["error"]
    assert {"code", "message", "field"} <= set(err), "%s: %s" % (what, body)
    assert re.fullmatch(r"ENT_E[A-Z]+", err["code"]), body
    assert err["code"] == want_code, "%s: code %s, want %s" % (what, err["code"], want_code)
    assert isinstance(err["message"], str) and err["message"], body
    assert err["field"] is None or isinstance(err["field"], str), body

error_shape("garbage", *ask(b"NOT HTTP AT ALL\r\n\r\n"), 400, "ENT_EPROTO")
error_shape("absolute URL", *ask(b"GET http://x/v1/status HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "ENT_EPROTO")
big = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
error_shape("big head", *ask(big), 413, "ENT_ETOOBIG")
error_shape("no route", *ask(b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n"), 404, "ENT_ENOENT")
st, hdr, body = ask(b"DELETE /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
error_shape("method", st, hdr, body, 405, "ENT_EMETHOD")
assert hdr.get("Allow") == "GET", hdr
error_shape("bad token", *ask(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n"), 401, "ENT_EAUTH")
error_shape("scheme", *ask(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Basic eDp5\r\n\r\n"), 401, "ENT_EAUTH")
st, hdr, body = ask(b"POST /v1/objects HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"type\":\"opp\",\"x\":1}")
error_shape("unknown key", st, hdr, body, 400, "ENT_EINVAL")
assert json.loads(body)["error"]["field"] == "x", body

# 64 idle connections, then the 65th is refused with 503
idle = []
for i in range(64):
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    idle.append(s)
time.sleep(0.3)
s = socket.socket(socket.AF_UNIX)
s.connect(SOCK)
s.settimeout(10)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
error_shape("65th connection", *parse(data), 503, "ENT_ELIMIT")
for s in idle:
    s.close()
time.sleep(0.3)

st, hdr, text = ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
assert st == 200 and hdr["Content-Type"].startswith("text/plain; version=0.0.4"), (st, hdr)
def val(series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in /metrics" % series)
assert val('entente_api_requests_total{method="",route="(unparsed)",status="400"}') == 2
assert val('entente_api_requests_total{method="",route="(unparsed)",status="413"}') == 1
assert val('entente_api_requests_total{method="",route="(unmatched)",status="404"}') == 1
assert val('entente_api_requests_total{method="",route="(unmatched)",status="405"}') == 1
assert val('entente_api_requests_total{method="GET",route="/v1/status",status="401"}') == 2
assert val('entente_api_connections_refused_total') == 1
PY

nodes_stop_all
echo "api_errors: ok"
