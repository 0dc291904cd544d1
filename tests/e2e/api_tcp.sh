#!/usr/bin/env bash
# tests/e2e/api_tcp.sh - the API on TCP (spec/api.md "The TCP API",
# spec/access.md §2.3) against a real node on loopback, ports picked by the
# node (port 0) at run time.
#
# Refusals before anything is bound: --api 0.0.0.0 without TLS, a
# certificate without its key, a key of another certificate, a key file
# readable by others. Then plain HTTP on 127.0.0.1: no credential, wrong,
# revoked, expired tokens, a session used as a bearer token, a bad cookie:
# 401 and nothing changed; a rep's token works within its policies and a
# denied field's value (the canary) never appears in any answer; login
# sets the cookie (HttpOnly, SameSite=Strict, Path=/, no Secure in plain
# HTTP); cookie writes without the CSRF token, with a wrong one or from
# another origin are 403 and change nothing, with it they work; the event
# stream streams over a cookie session; logout
# ends the session, and so does a new password (to a login's token too;
# tokens made for the user stay); keep-alive carries several requests; oversized body,
# head and header count are 413; a slow head is closed; path tricks get
# 400/403/404 and leak nothing; a flood gets 429 with Retry-After while
# another token goes on; the 33rd connection from one address and the
# 65th in all get 503. Then TLS with a
# self-signed certificate made here: curl with the right CA works, with
# another CA fails, TLS 1.1 and a non-AEAD cipher are refused, and the
# cookie is Secure. Needs $ENTENTE, python3, curl and openssl.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init api_tcp

OUT="$T/outs"
mkdir -p "$OUT"
CANARY="CANARY-TCP-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
node_init A
H="$T/A"

# http [--tls CA] HOST:PORT METHOD PATH [HEADER:VALUE]... [-- BODY]: one
# request on its own connection; prints "STATUS BODY" and writes the
# response headers to $T/hdrs.
cat >"$T/http.py" <<'PY'
import socket, ssl, sys
args = sys.argv[1:]
ca = None
if args[0] == "--tls":
    ca, args = args[1], args[2:]
addr, method, path = args[0], args[1], args[2]
hdrs, body = [], b""
rest = args[3:]
if "--" in rest:
    i = rest.index("--")
    body = rest[i + 1].encode()
    rest = rest[:i]
hdrs = rest
host, port = addr.rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
if ca:
    ctx = ssl.create_default_context(cafile=ca)
    s = ctx.wrap_socket(s, server_hostname=host)
head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (method, path, addr)
for h in hdrs:
    head += h + "\r\n"
if body:
    head += "Content-Type: application/json\r\n"
head += "Content-Length: %d\r\n\r\n" % len(body)
s.sendall(head.encode() + body)
data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
h, _, b = data.partition(b"\r\n\r\n")
open(sys.argv[0].rsplit("/", 1)[0] + "/hdrs", "wb").write(h)
print(h.split(b" ", 2)[1].decode(), b.decode().strip())
PY
http() { python3 "$T/http.py" "$@"; }
# st RESULT: the status of an http result
st() { echo "${1%% *}"; }
body() { echo "${1#* }"; }
# show: the EMEA object as the operator sees it (canonical JSON)
show() { e A object show "$EMEA" --json | py 'json.dumps(d, sort_keys=True)'; }

# ---- refusals before anything is bound -----------------------------------
expect_exit 1 "$ENTENTE" serve --home "$H" --api 0.0.0.0:0
expect_err "refusing to serve the API on 0.0.0.0:0 without TLS"
[ ! -e "$H/api.sock" ] || fail "a refused serve left api.sock"
! grep -q "listening on" "$T/out" "$T/err" || fail "a refused serve listened"
expect_exit 2 "$ENTENTE" serve --home "$H" --tls-cert x.pem
expect_exit 1 "$ENTENTE" serve --home "$H" --api 127.0.0.1:0 --tls-cert "$T/none.pem" --tls-key "$T/none.key"
expect_err "certificate file $T/none.pem"
mkcert() { # mkcert NAME: $T/NAME.crt and $T/NAME.key (0600), self-signed
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$T/$1.key" -out "$T/$1.crt" -days 1 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1 ||
        fail "openssl req"
    chmod 600 "$T/$1.key"
}
mkcert good
mkcert other
expect_exit 1 "$ENTENTE" serve --home "$H" --api 127.0.0.1:0 --tls-cert "$T/good.crt" --tls-key "$T/other.key"
expect_err "not the certificate's"
chmod 644 "$T/good.key"
expect_exit 1 "$ENTENTE" serve --home "$H" --api 127.0.0.1:0 --tls-cert "$T/good.crt" --tls-key "$T/good.key"
expect_err "readable by others"
chmod 600 "$T/good.key"
[ ! -e "$H/api.sock" ] || fail "a refused serve left api.sock"

# ---- plain HTTP on loopback ------------------------------------------------
SERVE_ARGS=(--api 127.0.0.1:0)
node_start A ENTENTE_API_HEAD_MS=1500
P=$(e A status --json | py 'd["api_tcp"]')
case "$P" in 127.0.0.1:[1-9]*) ;; *) fail "api_tcp $P" ;; esac
[ "$(e A status --json | py 'd["api_tls"]')" = False ] || fail "api_tls"

echo 'Rep-password-42' | e A user add rep --role rep --attr region=EMEA --password-stdin >/dev/null
e A user add boss --role admin >/dev/null
e A policy add 'allow role=rep read,create,change opportunity where region=$user.region' >/dev/null
e A policy add 'deny role=rep read,change opportunity.memo' >/dev/null
TREP=$(e A token create --user rep)
TREP2=$(e A token create --user rep)
TBOSS=$(e A token create --user boss)
TREV=$(e A token create --user rep)
TEXP=$(e A token create --user rep --expires 1s)
REV_ID=${TREV:4:16}
e A token revoke "$REV_ID" >/dev/null
EMEA=$(e A object create --type opportunity --set name=Emea-deal --set region=EMEA \
    --private memo="$CANARY")
e A object show "$EMEA" --json | grep -q "$CANARY" || fail "positive control: the operator sees the canary"
BEFORE=$(show)

# no credential: 401 on reads and writes, even for what the socket's
# operator may do without one
R=$(http "$P" GET /v1/status); [ "$(st "$R")" = 401 ] || fail "no token status: $R"
grep -q '^WWW-Authenticate: Bearer realm="entente"' "$T/hdrs" || fail "401 without WWW-Authenticate"
grep -q '^Cache-Control: no-store' "$T/hdrs" || fail "no Cache-Control: no-store"
R=$(http "$P" GET "/v1/objects/$EMEA"); [ "$(st "$R")" = 401 ] || fail "no token: $R"
echo "$R" >>"$OUT/all"
R=$(http "$P" POST "/v1/objects/$EMEA" -- '{"set":{"name":"x"}}'); [ "$(st "$R")" = 401 ] || fail "no token write: $R"
R=$(http "$P" POST /v1/users -- '{"name":"evil","role":"admin"}'); [ "$(st "$R")" = 401 ] || fail "no token users: $R"
sleep 1.1 # TEXP expires
WRONG="${TREP:0:84}$([ "${TREP:84:1}" = a ] && echo b || echo a)"
for tok in "$WRONG" "$TREV" "$TEXP" "garbage" ""; do
    R=$(http "$P" POST "/v1/objects/$EMEA" "Authorization: Bearer $tok" -- '{"set":{"name":"x"}}')
    [ "$(st "$R")" = 401 ] || fail "token '$tok': $R"
    echo "$R" >>"$OUT/all"
done
R=$(http "$P" GET /v1/status "Authorization: Basic cmVwOng="); [ "$(st "$R")" = 401 ] || fail "basic: $R"
[ "$(show)" = "$BEFORE" ] || fail "a refused request changed the object"
e A user list --json | py '[u["name"] for u in d]' | grep -q evil && fail "a refused request made a user"

# a rep's token: within its policies, the memo never shown
R=$(http "$P" GET "/v1/objects/$EMEA" "Authorization: Bearer $TREP")
[ "$(st "$R")" = 200 ] || fail "rep show: $R"
echo "$R" >>"$OUT/all"
[ "$(body "$R" | py 'sorted(d["private"])')" = "[]" ] || fail "rep sees private fields: $R"
R=$(http "$P" GET "/v1/objects" "Authorization: Bearer $TREP"); echo "$R" >>"$OUT/all"
R=$(http "$P" GET "/v1/log" "Authorization: Bearer $TREP"); echo "$R" >>"$OUT/all"
R=$(http "$P" POST "/v1/objects/$EMEA" "Authorization: Bearer $TREP" -- '{"private":{"memo":"overwritten"}}')
[ "$(st "$R")" = 403 ] || fail "rep changed the memo: $R"
[ "$(show)" = "$BEFORE" ] || fail "a denied change changed the object"
R=$(http "$P" POST "/v1/objects/$EMEA" "Authorization: Bearer $TREP" -- '{"set":{"next_step":"Call"}}')
[ "$(st "$R")" = 200 ] || fail "rep's allowed change: $R"
e A object show "$EMEA" --json | py 'd["shared"]["next_step"]' | grep -qx Call || fail "the change did not land"
BEFORE=$(show)

# ---- sessions: login, cookie, CSRF, origin, logout -------------------------
R=$(http "$P" POST /v1/login -- '{"user":"rep","password":"wrong-password-1"}')
[ "$(st "$R")" = 401 ] || fail "wrong password: $R"
! grep -qi "^set-cookie" "$T/hdrs" || fail "a failed login set a cookie"
R=$(http "$P" POST /v1/login "Origin: http://evil.example" -- '{"user":"rep","password":"Rep-password-42"}')
[ "$(st "$R")" = 403 ] || fail "cross-site login: $R"
R=$(http "$P" POST /v1/login -- '{"user":"rep","password":"Rep-password-42"}')
[ "$(st "$R")" = 200 ] || fail "login: $R"
SC=$(grep -i "^set-cookie:" "$T/hdrs" | tr -d '\r')
for attr in "; HttpOnly" "; SameSite=Strict" "; Path=/" "; Max-Age=43200"; do
    [[ "$SC" == *"$attr"* ]] || fail "cookie lacks $attr: $SC"
done
[[ "$SC" != *Secure* ]] || fail "Secure in plain HTTP: $SC"
COOKIE=$(echo "$SC" | sed -E 's/^[Ss]et-[Cc]ookie: (ent_session=[^;]*);.*/\1/')
SESSION=${COOKIE#ent_session=}
CSRF=$(body "$R" | py 'd["csrf"]')
[ "$(body "$R" | py '"token" in d')" = False ] || fail "the login answer carries the session: $R"
[ ${#CSRF} = 64 ] || fail "csrf: $CSRF"
R=$(http "$P" GET /v1/access/me "Cookie: $COOKIE")
[ "$(body "$R" | py '(d["user"], d["session"], d["csrf"])')" = "('rep', True, '$CSRF')" ] || fail "me: $R"
# the session is not a bearer token, a token is not a cookie
R=$(http "$P" GET /v1/access/me "Authorization: Bearer $SESSION"); [ "$(st "$R")" = 401 ] || fail "session as bearer: $R"
R=$(http "$P" GET /v1/access/me "Cookie: ent_session=$TREP"); [ "$(st "$R")" = 401 ] || fail "token as cookie: $R"
R=$(http "$P" GET /v1/access/me "Cookie: ent_session=${SESSION:0:84}x"); [ "$(st "$R")" = 401 ] || fail "wrong cookie: $R"
R=$(http "$P" GET /v1/access/me "Cookie: $COOKIE" "Cookie: ent_session=planted"); [ "$(st "$R")" = 401 ] || fail "two cookies: $R"
# writes by cookie: CSRF token and same origin
SET='{"set":{"next_step":"Cookie-write"}}'
R=$(http "$P" POST "/v1/objects/$EMEA" "Cookie: $COOKIE" -- "$SET"); [ "$(st "$R")" = 403 ] || fail "no CSRF: $R"
BADCSRF="${CSRF:0:63}$([ "${CSRF:63:1}" = 0 ] && echo 1 || echo 0)"
R=$(http "$P" POST "/v1/objects/$EMEA" "Cookie: $COOKIE" "X-CSRF-Token: $BADCSRF" -- "$SET")
[ "$(st "$R")" = 403 ] || fail "wrong CSRF: $R"
R=$(http "$P" POST "/v1/objects/$EMEA" "Cookie: $COOKIE" "X-CSRF-Token: $CSRF" "Origin: http://evil.example" -- "$SET")
[ "$(st "$R")" = 403 ] || fail "cross-site with CSRF: $R"
R=$(http "$P" POST "/v1/objects/$EMEA" "Cookie: $COOKIE" "X-CSRF-Token: $CSRF" "Sec-Fetch-Site: cross-site" -- "$SET")
[ "$(st "$R")" = 403 ] || fail "Sec-Fetch-Site cross-site: $R"
[ "$(show)" = "$BEFORE" ] || fail "a CSRF refusal changed the object"
R=$(http "$P" POST "/v1/objects/$EMEA" "Cookie: $COOKIE" "X-CSRF-Token: $CSRF" "Origin: http://$P" "Sec-Fetch-Site: same-origin" -- "$SET")
[ "$(st "$R")" = 200 ] || fail "cookie write with CSRF: $R"
e A object show "$EMEA" --json | py 'd["shared"]["next_step"]' | grep -qx Cookie-write || fail "the cookie write did not land"
R=$(http "$P" GET "/v1/objects/$EMEA" "Cookie: $COOKIE"); echo "$R" >>"$OUT/all"
[ "$(st "$R")" = 200 ] || fail "cookie read: $R"
# the event stream on TCP stays open and streams (it used to close right
# after its head): the prologue, then an event of a write made now
curl -s -N -m 20 -H "Cookie: $COOKIE" -H 'Accept: text/event-stream' \
    "http://$P/v1/events" >"$T/tcp.sse" 2>/dev/null &
SSE_PID=$!
lib_track "$SSE_PID"
wait_for "the TCP event stream to open" grep -q "entente events" "$T/tcp.sse"
e A object set "$EMEA" --set next_step=Streamed >/dev/null
wait_for "an event on the TCP stream" grep -q "Streamed" "$T/tcp.sse"
kill "$SSE_PID" 2>/dev/null || true
wait "$SSE_PID" 2>/dev/null || true
# logout: CSRF too, then the cookie is dead
R=$(http "$P" POST /v1/logout "Cookie: $COOKIE"); [ "$(st "$R")" = 403 ] || fail "logout without CSRF: $R"
R=$(http "$P" POST /v1/logout "Cookie: $COOKIE" "X-CSRF-Token: $CSRF"); [ "$(st "$R")" = 200 ] || fail "logout: $R"
grep -qi "^set-cookie: ent_session=; .*Max-Age=0" "$T/hdrs" || fail "logout did not clear the cookie"
R=$(http "$P" GET /v1/access/me "Cookie: $COOKIE"); [ "$(st "$R")" = 401 ] || fail "cookie after logout: $R"
R=$(http "$P" POST /v1/logout "Authorization: Bearer $TREP"); [ "$(st "$R")" = 400 ] || fail "logout with a token: $R"
# a new password ends the sessions made before it; tokens stay (spec/access.md §2.3)
R=$(http "$P" POST /v1/login -- '{"user":"rep","password":"Rep-password-42"}'); [ "$(st "$R")" = 200 ] || fail "login again: $R"
COOKIE=$(grep -i "^set-cookie:" "$T/hdrs" | tr -d '\r' | sed -E 's/^[Ss]et-[Cc]ookie: (ent_session=[^;]*);.*/\1/')
R=$(http "$P" GET /v1/access/me "Cookie: $COOKIE"); [ "$(st "$R")" = 200 ] || fail "the new session: $R"
# and so does a login's token ("token":true); a token made for rep stays
R=$(http "$P" POST /v1/login -- '{"user":"rep","password":"Rep-password-42","token":true}'); [ "$(st "$R")" = 200 ] || fail "login for a token: $R"
TLOGIN=$(body "$R" | py 'd["token"]')
R=$(http "$P" GET /v1/access/me "Authorization: Bearer $TLOGIN"); [ "$(st "$R")" = 200 ] || fail "the login token: $R"
echo 'Rep-password-43' | e A user set rep --password-stdin >/dev/null
R=$(http "$P" GET /v1/access/me "Cookie: $COOKIE"); [ "$(st "$R")" = 401 ] || fail "a session outlived a new password: $R"
R=$(http "$P" GET /v1/access/me "Authorization: Bearer $TLOGIN"); [ "$(st "$R")" = 401 ] || fail "a login token outlived a new password: $R"
R=$(http "$P" GET /v1/access/me "Authorization: Bearer $TREP"); [ "$(st "$R")" = 200 ] || fail "a token after a new password: $R"
echo 'Rep-password-42' | e A user set rep --password-stdin >/dev/null
BEFORE=$(show)

# ---- HTTP tricks and bounds ------------------------------------------------
# raw BYTES-FILE: sends the file's bytes on one connection, prints every
# status line received until the server closes (or "closed" when none),
# and the seconds it took
cat >"$T/raw.py" <<'PY'
import re, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
data = open(sys.argv[2], "rb").read()
s = socket.create_connection((host, int(port)), timeout=20)
t0 = time.time()
s.sendall(data)
got = b""
try:
    while True:
        c = s.recv(65536)
        if not c:
            break
        got += c
except ConnectionResetError:
    pass
lines = [m.decode() for m in re.findall(rb"(?:^|\n)HTTP/1\.1 (\d+) ", got)]
print(" ".join(lines) if lines else "closed", "%.1f" % (time.time() - t0))
open(sys.argv[2] + ".resp", "wb").write(got)
PY
raw() { python3 "$T/raw.py" "$P" "$1"; }
AUTH="Authorization: Bearer $TBOSS"
# keep-alive: three requests on one connection, the last one closes
printf 'GET /v1/status HTTP/1.1\r\nHost: x\r\n%s\r\n\r\nGET /v1/access/me HTTP/1.1\r\nHost: x\r\n%s\r\n\r\nGET /v1/status HTTP/1.1\r\nHost: x\r\n%s\r\nConnection: close\r\n\r\n' \
    "$AUTH" "$AUTH" "$AUTH" >"$T/ka"
R=$(raw "$T/ka"); [ "${R% *}" = "200 200 200" ] || fail "keep-alive: $R"
# oversized body, too many headers, an endless head: 413 and closed
printf 'POST /v1/objects HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: 2000000\r\n\r\n{' "$AUTH" >"$T/big"
R=$(raw "$T/big"); [ "${R% *}" = 413 ] || fail "big body: $R"
{ printf 'GET /v1/status HTTP/1.1\r\nHost: x\r\n%s\r\n' "$AUTH"; for i in $(seq 1 100); do printf 'X-H%d: v\r\n' "$i"; done; printf '\r\n'; } >"$T/hdrmany"
R=$(raw "$T/hdrmany"); case "${R% *}" in 413 | 431 | 400) ;; *) fail "too many headers: $R" ;; esac
{ printf 'GET /v1/status HTTP/1.1\r\nX-Long: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$T/hdrbig"
R=$(raw "$T/hdrbig"); [ "${R% *}" = 413 ] || fail "big head: $R"
# a slow head (slow loris): closed at the deadline (1.5 s here) unanswered
printf 'GET /v1/status HTTP/1.1\r\nHost: x\r\n' >"$T/slow"
R=$(raw "$T/slow"); [ "${R% *}" = closed ] || fail "slow head: $R"
python3 -c "import sys; t=float(sys.argv[1]); sys.exit(0 if 1.0 <= t <= 6 else 1)" "${R#* }" || fail "slow head closed after ${R#* } s"
# path tricks: never another route's data
for p in "/v1/objects/../users" "/v1/objects/%2e%2e/users" "/v1/objects%2F..%2Fusers" \
    "/v1/users%00" "/v1//users" "/V1/users" "/v1/objects/$EMEA/../../users"; do
    for tok in "$TREP" "$TBOSS"; do
        R=$(http "$P" GET "$p" "Authorization: Bearer $tok")
        case "$(st "$R")" in 400 | 403 | 404) ;; *) fail "path $p: $R" ;; esac
        [[ "$R" != *'"role"'* ]] || fail "path $p leaked users: $R"
        echo "$R" >>"$OUT/all"
    done
done
printf 'GET /v1/status\0 HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n' "$AUTH" >"$T/nul"
R=$(raw "$T/nul"); [ "${R% *}" = 400 ] || fail "NUL in the request line: $R"
printf 'GET http://evil/v1/users HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n' "$AUTH" >"$T/abs"
R=$(raw "$T/abs"); [ "${R% *}" = 400 ] || fail "absolute URL: $R"
printf 'GET /v1/status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n%s\r\n\r\n0\r\n\r\n' "$AUTH" >"$T/smuggle"
R=$(raw "$T/smuggle"); case "${R% *}" in 400 | "200") ;; *) fail "TE+CL: $R" ;; esac
[ "$(show)" = "$BEFORE" ] || fail "a trick changed the object"

# the request rate: a flood of one token gets 429 with Retry-After (50/s,
# bursts of 100), another token goes on
{ for i in $(seq 1 160); do printf 'GET /v1/access/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n' "$TREP2"; done
  printf 'GET /v1/access/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$TREP2"; } >"$T/flood"
R=$(raw "$T/flood")
N429=$(echo "${R% *}" | tr ' ' '\n' | grep -c '^429$' || true)
[ "$N429" -gt 0 ] || fail "no 429 in a flood of 161: $R"
grep -q "Retry-After: [1-9]" "$T/flood.resp" || fail "429 without Retry-After"
R=$(http "$P" GET /v1/access/me "Authorization: Bearer $TBOSS"); [ "$(st "$R")" = 200 ] || fail "another token limited: $R"

# the 33rd connection from one address: 503 (32 held open and idle); 32
# more from a second loopback address make 64, and the 65th, from a
# third, is refused too (the node's whole bound); the first address gets
# in again once its connections close
python3 - "$P" <<'PY' || fail "connection limits"
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
def conn(src):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect((host, int(port)))
    return s
def refused(src, why):
    s = conn(src)
    got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 503"), got
    assert why in got, got
    s.close()
held = [conn("127.0.0.1") for _ in range(32)]
time.sleep(0.2)
refused("127.0.0.1", b"too many API connections from this address")
held += [conn("127.0.0.2") for _ in range(32)]
time.sleep(0.2)
refused("127.0.0.3", b"too many API connections\"")
for h in held[:32]:
    h.close()
time.sleep(0.3)
s = conn("127.0.0.1")
s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
got = s.recv(4096)
assert got.startswith(b"HTTP/1.1 401"), got
for h in held[32:]:
    h.close()
PY

# the canary never appeared in any answer to rep or to a refused request
! grep -q "$CANARY" "$OUT/all" || fail "the canary leaked over TCP"
grep -q "$EMEA" "$OUT/all" || fail "positive control: rep's answers name the object"
node_stop A

# ---- TLS -------------------------------------------------------------------
SERVE_ARGS=(--api 127.0.0.1:0 --tls-cert "$T/good.crt" --tls-key "$T/good.key")
node_start A
P=$(e A status --json | py 'd["api_tcp"]')
[ "$(e A status --json | py 'd["api_tls"]')" = True ] || fail "api_tls"
URL="https://$P"
CODE=$(curl -s -o "$OUT/tls.json" -w '%{http_code}' --cacert "$T/good.crt" -H "Authorization: Bearer $TREP" "$URL/v1/objects/$EMEA") ||
    fail "curl with the right CA: $?"
[ "$CODE" = 200 ] || fail "TLS GET: $CODE"
! grep -q "$CANARY" "$OUT/tls.json" || fail "the canary leaked over TLS"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/good.crt" "$URL/v1/status") || true
[ "$CODE" = 401 ] || fail "TLS without token: $CODE"
rc=0; curl -s -o /dev/null --cacert "$T/other.crt" "$URL/v1/status" || rc=$?
[ "$rc" = 60 ] || fail "curl with another CA exited $rc, want 60"
rc=0; curl -s -o /dev/null --cacert "$T/good.crt" --tlsv1.1 --tls-max 1.1 "$URL/v1/status" || rc=$?
[ "$rc" = 35 ] || fail "TLS 1.1 exited $rc, want 35 (handshake refused)"
rc=0; curl -s -o /dev/null --cacert "$T/good.crt" --tls-max 1.2 --ciphers AES128-SHA "$URL/v1/status" || rc=$?
[ "$rc" = 35 ] || fail "a non-AEAD cipher exited $rc, want 35"
# plain HTTP to the TLS port: nothing answered in HTTP
R=$(http "$P" GET /v1/status "Authorization: Bearer $TREP" 2>&1 || true)
[[ "$R" != 200* ]] || fail "plain HTTP answered on the TLS port"
# a TLS login: the cookie is Secure, and a write with it works
curl -s -D "$T/tlshdrs" -o "$OUT/tlslogin.json" --cacert "$T/good.crt" \
    -d '{"user":"rep","password":"Rep-password-42"}' "$URL/v1/login" || fail "TLS login"
grep -qi "^set-cookie: ent_session=.*; Secure" "$T/tlshdrs" || fail "no Secure cookie: $(cat "$T/tlshdrs")"
CSRF=$(py 'd["csrf"]' <"$OUT/tlslogin.json")
COOKIE=$(grep -i "^set-cookie:" "$T/tlshdrs" | sed -E 's/^[Ss]et-[Cc]ookie: (ent_session=[^;]*);.*/\1/' | tr -d '\r')
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/good.crt" -H "Cookie: $COOKIE" \
    -H "X-CSRF-Token: $CSRF" -d '{"set":{"next_step":"Tls-write"}}' "$URL/v1/objects/$EMEA")
[ "$CODE" = 200 ] || fail "TLS cookie write: $CODE"
# keep-alive under TLS: two requests, one connection
curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' --cacert "$T/good.crt" \
    -H "Authorization: Bearer $TBOSS" "$URL/v1/status" "$URL/v1/status" >"$T/nc"
[ "$(tr '\n' ' ' <"$T/nc")" = "1 0 " ] || fail "TLS keep-alive: $(cat "$T/nc")"
nodes_stop_all
echo "api_tcp: ok"
