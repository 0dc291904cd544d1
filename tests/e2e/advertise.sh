#!/usr/bin/env bash
# tests/e2e/advertise.sh - the address an invite token carries (spec/cli.md
# "Advertised address"): `init --advertise`, `config get|set advertise`
# with and without a running node (kept in the home's meta table), what
# `status` and the ready line report, $ENTENTE_ADVERTISE over the setting,
# and `invite`'s warning when the token carries a loopback address.
#
# The address in a token is observed from the joining side: a token whose
# address nobody listens on fails with "cannot reach the inviter at ADDR".
# Loopback only: nodes listen on 127.0.0.1 port 0; the one non-loopback
# address (192.0.2.10, TEST-NET-1) is set on a node that has no partner
# while it is set, so nobody ever dials it. The default for a wildcard
# listener is tested in tests/advertise_test.c without binding one.
# Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init advertise

# ok CMD...: CMD exits 0; its stdout in $T/out, stderr in $T/err.
ok() { "$@" >"$T/out" 2>"$T/err" || fail "'$*' exited $?: $(cat "$T/err")"; }
# st N CMD...: CMD exits N.
st() {
    local want=$1 got=0
    shift
    "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" = "$want" ] || fail "'$*' exited $got, want $want: $(cat "$T/err")"
}
WARN_RE="^entente: invite: warning: the token carries the loopback address"

# PUT /v1/config BODY on NODE's socket: prints "STATUS BODY".
api_put_config() {
    python3 - "$T/$1/api.sock" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
b = sys.argv[2].encode()
s.sendall(b"PUT /v1/config HTTP/1.1\r\nHost: local\r\nConnection: close\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b))
r = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    r += c
head, _, body = r.partition(b"\r\n\r\n")
print(head.split(b" ")[1].decode(), body.decode())
EOF
}

# ---- init --advertise -----------------------------------------------------------
st 1 "$ENTENTE" init --home "$T/X" --name X --advertise "bad host:7411"
grep -qx "entente: init: invalid advertise address 'bad host:7411' (want HOST:PORT: an IPv4 address, \[IPv6\] or a DNS name, port 1-65535)" "$T/err" ||
    fail "init --advertise bad: $(cat "$T/err")"
st 1 "$ENTENTE" init --home "$T/X" --name X --advertise 127.0.0.1:0
[ ! -e "$T/X" ] || fail "a refused init created the home"

ok "$ENTENTE" init --home "$T/A" --name A --listen 127.0.0.1:0 --advertise 192.0.2.10:7411
ok e A config get advertise
[ "$(cat "$T/out")" = 192.0.2.10:7411 ] || fail "config get advertise after init: $(cat "$T/out")"
ok e A config get --json
[ "$(py 'd["advertise"], d["default_currency"]' <"$T/out")" = "192.0.2.10:7411 USD" ] ||
    fail "config get --json: $(cat "$T/out")"

# ---- a running node reports and uses the setting ----------------------------------
node_start A
ok e A status --json
LISTEN_A=$(py 'd["listen"]' <"$T/out")
[ "$(py 'd["advertise"]' <"$T/out")" = 192.0.2.10:7411 ] || fail "status advertise: $(cat "$T/out")"
ok e A status
grep -qx "listen:  $LISTEN_A, advertised as 192.0.2.10:7411" "$T/out" || fail "status text: $(cat "$T/out")"
grep -q "^ready: listening on $LISTEN_A, advertising 192.0.2.10:7411, api $T/A/api.sock$" "$T/A.log" ||
    fail "ready line: $(grep ready "$T/A.log")"
ID=$(e A object create --type opportunity --set name=advertised)
ok e A invite "$ID"
grep -q . "$T/err" && fail "invite with a non-loopback address warned: $(cat "$T/err")"

# unset, on the running node (PUT /v1/config): back to the listen address,
# and the invite warns
ok e A config set advertise ""
ok e A config get advertise
[ ! -s "$T/out" ] || fail "config get advertise when unset printed: $(cat "$T/out")"
[ "$(e A status --json | py 'd["advertise"]')" = "$LISTEN_A" ] || fail "advertise after unset"
ok e A invite "$ID"
grep -q "$WARN_RE $LISTEN_A, which only this machine can reach; for a partner elsewhere, set the address it can dial with: entente config set advertise HOST:PORT$" "$T/err" ||
    fail "invite warning: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" = 1 ] || fail "invite stderr: $(cat "$T/err")"
ok e A invite "$ID" --json
py 'd["token"]' <"$T/out" >/dev/null || fail "invite --json stdout: $(cat "$T/out")"
grep -q "$WARN_RE" "$T/err" || fail "invite --json did not warn"

# ---- the token carries the setting: seen from the joiner ---------------------------
node_start B
ok e A config set advertise 127.0.0.1:1 --json
[ "$(py 'd["advertise"]' <"$T/out")" = 127.0.0.1:1 ] || fail "config set --json: $(cat "$T/out")"
TOK=$(e A invite "$ID" 2>/dev/null)
st 1 e B join "$TOK" --timeout 10s
grep -q "cannot reach the inviter at 127.0.0.1:1" "$T/err" || fail "join with 127.0.0.1:1: $(cat "$T/err")"
ok e A config set advertise "localhost:${LISTEN_A##*:}"
[ "$(e A status --json | py 'd["advertise"]')" = "localhost:${LISTEN_A##*:}" ] || fail "advertise localhost"
ok e A config set advertise "$LISTEN_A"
ok e A invite "$ID"
TOK=$(cat "$T/out")
grep -q "$WARN_RE $LISTEN_A" "$T/err" || fail "no warning for an explicit loopback setting"
ok e B join "$TOK"
[ "$(cat "$T/out")" = "$ID" ] || fail "B joined $(cat "$T/out")"

# ---- the API refuses bad values and changes nothing -----------------------------
[ "$(api_put_config A '{"advertise":"bad host:1"}' | cut -d' ' -f1)" = 400 ] || fail "PUT bad advertise"
[ "$(api_put_config A '{}' | cut -d' ' -f1)" = 400 ] || fail "PUT {}"
[ "$(api_put_config A '{"advertise":7411}' | cut -d' ' -f1)" = 400 ] || fail "PUT advertise number"
[ "$(api_put_config A '{"advertise":"10.0.0.1:1","default_currency":"XYZ"}' | cut -d' ' -f1)" = 400 ] ||
    fail "PUT with one bad key"
[ "$(e A config get advertise)" = "$LISTEN_A" ] || fail "a refused PUT changed advertise"
R=$(api_put_config A '{"default_currency":"EUR"}')
[ "${R%% *}" = 200 ] || fail "PUT default_currency: $R"
echo "${R#* }" | py 'd["advertise"] == "'"$LISTEN_A"'" and d["default_currency"] == "EUR" or exit(1)' >/dev/null ||
    fail "PUT default_currency answer: $R"

# ---- usage and value errors --------------------------------------------------------
st 2 e A config get frobs
st 2 e A config set advertise
st 2 e A config set frobs 1
st 1 e A config set advertise 10.0.0.1
grep -q "invalid advertise address '10.0.0.1'" "$T/err" || fail "config set no port: $(cat "$T/err")"
st 1 e A config set default_currency eur

# ---- without a node: the setting is kept in the home ---------------------------------
node_stop A
ok e A config get advertise
[ "$(cat "$T/out")" = "$LISTEN_A" ] || fail "config get with no node: $(cat "$T/out")"
ok e A config set advertise 127.0.0.1:2
ok e A config get
grep -qx "advertise         127.0.0.1:2" "$T/out" || fail "config get (all): $(cat "$T/out")"
grep -qx "default_currency  EUR" "$T/out" || fail "config get (all): $(cat "$T/out")"
st 1 e Nobody config get
grep -q "no such home" "$T/err" || fail "config get on no home: $(cat "$T/err")"
node_start A
[ "$(e A status --json | py 'd["advertise"]')" = 127.0.0.1:2 ] || fail "setting lost across restart"

# ---- $ENTENTE_ADVERTISE overrides the setting -----------------------------------------
node_stop A
node_start A ENTENTE_ADVERTISE=127.0.0.1:3
[ "$(e A status --json | py 'd["advertise"]')" = 127.0.0.1:3 ] || fail "ENTENTE_ADVERTISE ignored"
node_start C
st 1 e C join "$(e A invite "$ID" 2>/dev/null)" --timeout 10s
grep -q "cannot reach the inviter at 127.0.0.1:3" "$T/err" || fail "join with the override: $(cat "$T/err")"
[ "$(e A config get advertise)" = 127.0.0.1:2 ] || fail "the override changed the setting"

nodes_stop_all
echo "advertise: ok"
