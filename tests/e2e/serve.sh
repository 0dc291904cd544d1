#!/usr/bin/env bash
# tests/e2e/serve.sh - init, serve, status, the lock, signals and error paths
# of one real `entente serve` process. Needs $ENTENTE (the binary under test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lib_init serve
H="$T/home"

json() { # json FIELD < document
    python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v)' "$1"
}

home_sum() {
    (cd "$H" && find . -type f -print0 | sort -z | xargs -0 sha256sum; ls -la --time-style=full-iso .)
}

# wait_up: status --json once the node answers (status --wait, bounded).
wait_up() {
    "$ENTENTE" status --home "$H" --wait=15s --json >"$T/status.json" 2>"$T/err" ||
        fail "node did not come up: $(cat "$T/err")"
}

start_serve() { # start_serve LOG: serve in the background, PID in $SERVE
    "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0 >"$T/$1" 2>&1 &
    SERVE=$!
    lib_track "$SERVE"
}

# ---- help and usage -------------------------------------------------------
expect_exit 0 "$ENTENTE" --help
grep -q "usage: entente" "$T/out" || fail "--help printed no usage"
expect_exit 0 "$ENTENTE" help
for c in init serve status help; do
    expect_exit 0 "$ENTENTE" "$c" --help
    grep -q "usage: entente $c" "$T/out" || fail "$c --help printed no usage"
    expect_exit 0 "$ENTENTE" help "$c"
done
expect_exit 2 "$ENTENTE"
expect_exit 2 "$ENTENTE" frobnicate
grep -q "unknown command" "$T/err" || fail "unknown command: $(cat "$T/err")"
expect_exit 2 "$ENTENTE" status --bogus
expect_exit 2 "$ENTENTE" init --home "$H"
[ ! -e "$H" ] || fail "init without --name created the home"

# ---- init -----------------------------------------------------------------
expect_exit 1 "$ENTENTE" init --name $'bad\x01name' --home "$H"
[ ! -e "$H" ] || fail "init with a bad name created the home"
expect_exit 0 "$ENTENTE" init --name "Acme Corp" --home "$H"
ORG=$(cat "$T/out")
[ ${#ORG} -eq 52 ] || fail "org id '$ORG' is not 52 characters"
[ "$(stat -c %a "$H/identity.key")" = 600 ] || fail "identity.key not 0600"
before=$(home_sum)
expect_exit 1 "$ENTENTE" init --name Other --home "$H"
grep -qx "entente: init: $H: already exists" "$T/err" || fail "init twice: $(cat "$T/err")"
[ "$before" = "$(home_sum)" ] || fail "init on an existing home changed it"
[ -z "$(ls -A "$T" | grep '^\.' || true)" ] || fail "init left a temp folder"

# init --json into another home, options after the command word in any order
expect_exit 0 env ENTENTE_HOME="$T/h2" "$ENTENTE" init --json --name Beta
[ "$(json name <"$T/out")" = Beta ] || fail "init --json name"
[ "$(json home <"$T/out")" = "$T/h2" ] || fail "init --json home"
[ "$(json org <"$T/out" | wc -c)" -eq 53 ] || fail "init --json org"

# ---- status without a node --------------------------------------------------
expect_exit 1 "$ENTENTE" status --home "$H"
grep -qx "entente: status: no node is running for $H (start one with: entente serve)" "$T/err" ||
    fail "status without node: $(cat "$T/err")"

# ---- serve, status ---------------------------------------------------------
start_serve serve1.log
wait_up
[ "$(json org <"$T/status.json")" = "$ORG" ] || fail "status org differs from init"
[ "$(json name <"$T/status.json")" = "Acme Corp" ] || fail "status name"
[ "$(json peers <"$T/status.json")" = 0 ] || fail "status peers"
[ "$(json objects <"$T/status.json")" = 0 ] || fail "status objects"
LISTEN=$(json listen <"$T/status.json")
PORT=${LISTEN##*:}
[ "${LISTEN%:*}" = 127.0.0.1 ] || fail "listen host $LISTEN"
[ "$PORT" -gt 0 ] || fail "listen port $PORT"
# the peer port accepts TCP connections
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") || fail "port $PORT does not accept"
# the brief's five keys, plus the count of equivocation proofs (spec/audit.md),
# the backlog syncs in progress (spec/api.md), none on a fresh node, the
# address put in invites (spec/cli.md "Advertised address") and the session
# counters (spec/sessions.md "Guests, strikes and bans") and what the engine
# did with received ops (spec/api.md "received"), all zero
[ "$(python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))' <"$T/status.json")" = \
  "['advertise', 'api_tcp', 'api_tls', 'equivocations', 'listen', 'name', 'objects', 'org', 'peers', 'received', 'restore', 'rewinds', 'sessions', 'syncs']" ] ||
    fail "status --json keys: $(cat "$T/status.json")"
[ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["syncs"])' <"$T/status.json")" = "[]" ] ||
    fail "status --json keys: $(cat "$T/status.json")"
[ "$(python3 -c 'import json,sys; d=json.load(sys.stdin)["sessions"]; print(sorted(d.items()))' <"$T/status.json")" = \
  "[('banned', 0), ('bans', 0), ('guests', 0), ('guests_closed', 0), ('open', 0), ('refused', 0)]" ] ||
    fail "status --json sessions: $(cat "$T/status.json")"
[ "$(wc -l <"$T/status.json")" -eq 1 ] || fail "status --json is not one line"
expect_exit 0 "$ENTENTE" status --home "$H"
grep -q "listen:  $LISTEN" "$T/out" || fail "human status: $(cat "$T/out")"
[ "$(stat -c %a "$H/api.sock")" = 600 ] || fail "api.sock is not 0600"
grep -q "INFO  listening on $LISTEN" "$T/serve1.log" || fail "no 'listening on' log line"

# a second serve on the same home is refused
expect_exit 1 "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0
grep -qx "entente: serve: $H: another node is running (pid $SERVE)" "$T/err" ||
    fail "second serve: $(cat "$T/err")"
"$ENTENTE" status --home "$H" >/dev/null || fail "first node died after the second serve"

# SIGTERM: exit 0 and the socket is gone
kill -TERM "$SERVE"
st=0
wait "$SERVE" || st=$?
[ "$st" -eq 0 ] || fail "serve exited $st after SIGTERM"
[ ! -e "$H/api.sock" ] || fail "api.sock left after SIGTERM"

# restart: same org; then kill -9 and start again with no clean-up
start_serve serve2.log
wait_up
[ "$(json org <"$T/status.json")" = "$ORG" ] || fail "org changed after restart"
kill -9 "$SERVE"
wait "$SERVE" 2>/dev/null || true
[ -S "$H/api.sock" ] || fail "expected a stale api.sock after kill -9"
expect_exit 1 "$ENTENTE" status --home "$H"
grep -q "no node is running" "$T/err" || fail "status after kill -9: $(cat "$T/err")"
start_serve serve3.log
wait_up
[ "$(json org <"$T/status.json")" = "$ORG" ] || fail "org changed after kill -9"
kill -INT "$SERVE"
st=0
wait "$SERVE" || st=$?
[ "$st" -eq 0 ] || fail "serve exited $st after SIGINT"

# ---- bad key files ------------------------------------------------------------
chmod 644 "$H/identity.key"
expect_exit 1 "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0
grep -qx "entente: serve: $H/identity.key: file is readable by others (chmod 600)" "$T/err" ||
    fail "world-readable key: $(cat "$T/err")"
chmod 600 "$H/identity.key"
cp -p "$H/identity.key" "$T/key.bak"
head -c 10 "$T/key.bak" >"$H/identity.key"
expect_exit 1 "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0
grep -q "^entente: serve: $H/identity.key: " "$T/err" || fail "truncated key: $(cat "$T/err")"
cp -p "$T/key.bak" "$H/identity.key"
expect_exit 1 "$ENTENTE" serve --home "$T/nohome"
grep -q "^entente: serve: $T/nohome: " "$T/err" || fail "missing home: $(cat "$T/err")"
expect_exit 1 "$ENTENTE" serve --home "$H" --listen nonsense

# and the restored key works again
start_serve serve4.log
wait_up
[ "$(json org <"$T/status.json")" = "$ORG" ] || fail "org after restoring key"
kill -TERM "$SERVE"
wait "$SERVE" || fail "serve exited non-zero at the end"
echo "serve.sh: ok"
