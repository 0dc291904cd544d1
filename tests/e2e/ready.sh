#!/usr/bin/env bash
# tests/e2e/ready.sh - how a script or a service manager knows that a node
# started in the background is up (spec/cli.md "serve" and "status"):
#
#   - `status --wait[=TIMEOUT]` right after `serve &` answers instead of
#     "no node is running"; without a node it gives up after TIMEOUT with a
#     clear error; bad values are usage errors;
#   - `serve` prints exactly one line on stdout once the peer listener and
#     the API socket are up, "ready: listening on …, advertising …, api …"
#     (with --json one JSON document), and a plain `status` (no --wait)
#     issued the moment that line is read is answered;
#   - with $NOTIFY_SOCKET set, `serve` sends READY=1 (with STATUS=) to that
#     datagram socket, here a listener of the test's own (python3), once it
#     is up, and STOPPING=1 on SIGTERM. No libsystemd is involved.
#
# Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init ready
H="$T/home"
SERVE=

# Every process started below is entered in lib.sh's NODE_PID, so that the
# EXIT trap stops it if the script fails half-way.
stop_serve() { # SIGTERM, exit status 0
    kill -TERM "$SERVE"
    local st=0
    wait "$SERVE" || st=$?
    unset "NODE_PID[serve]"
    [ "$st" = 0 ] || fail "serve exited $st after SIGTERM"
}

"$ENTENTE" init --home "$H" --name "Ready Corp" --listen 127.0.0.1:0 >/dev/null

# ---- status --wait without a node: bounded, clear error ----------------------
t0=$(date +%s%N)
st=0
"$ENTENTE" status --home "$H" --wait=1s >"$T/out" 2>"$T/err" || st=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$st" = 1 ] || fail "status --wait=1s without a node exited $st"
grep -qx "entente: status: no node answered for $H within 1s (start one with: entente serve)" "$T/err" ||
    fail "status --wait timeout message: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "status --wait printed on stdout: $(cat "$T/out")"
[ "$ms" -ge 900 ] && [ "$ms" -lt 8000 ] || fail "status --wait=1s took $ms ms"
# without --wait: at once, the old message
"$ENTENTE" status --home "$H" 2>"$T/err" && fail "status without a node succeeded"
grep -qx "entente: status: no node is running for $H (start one with: entente serve)" "$T/err" ||
    fail "status without a node: $(cat "$T/err")"
# usage errors: a value needs '=', and must be a duration
st=0
"$ENTENTE" status --home "$H" --wait 1s 2>"$T/err" || st=$?
[ "$st" = 2 ] || fail "status --wait 1s exited $st, want 2"
grep -q "an optional value takes '=': --wait=1s" "$T/err" || fail "--wait 1s: $(cat "$T/err")"
st=0
"$ENTENTE" status --home "$H" --wait=soon 2>"$T/err" || st=$?
[ "$st" = 2 ] || fail "status --wait=soon exited $st, want 2"
grep -q "^entente: status: --wait wants a duration" "$T/err" || fail "--wait=soon: $(cat "$T/err")"

# ---- serve & then status --wait at once: the node's answer --------------------
"$ENTENTE" serve --home "$H" --log-level warn >"$T/serve1.out" 2>"$T/serve1.log" &
SERVE=$!
NODE_PID[serve]=$SERVE
"$ENTENTE" status --home "$H" --wait --json >"$T/status.json" 2>"$T/err" ||
    fail "status --wait right after serve &: $(cat "$T/err")"
LISTEN=$(py 'd["listen"]' <"$T/status.json")
case "$LISTEN" in 127.0.0.1:0 | "") fail "listen $LISTEN" ;; esac
stop_serve
# the ready line, exactly, and nothing else on stdout
printf 'ready: listening on %s, advertising %s, api %s\n' "$LISTEN" "$LISTEN" "$H/api.sock" >"$T/want"
diff "$T/want" "$T/serve1.out" >/dev/null || fail "serve stdout: $(cat "$T/serve1.out")"

# ---- the ready line means ready: a plain status right after it answers --------
mkfifo "$T/fifo"
"$ENTENTE" serve --home "$H" --log-level warn >"$T/fifo" 2>"$T/serve2.log" &
SERVE=$!
NODE_PID[serve]=$SERVE
read -r line <"$T/fifo" || fail "serve closed stdout without a ready line"
case "$line" in "ready: listening on 127.0.0.1:"*", api $H/api.sock") ;; *) fail "ready line: $line" ;; esac
"$ENTENTE" status --home "$H" --json >/dev/null 2>"$T/err" ||
    fail "status right after the ready line: $(cat "$T/err")"
stop_serve

# --json: one document
"$ENTENTE" serve --home "$H" --log-level warn --json >"$T/fifo" 2>"$T/serve3.log" &
SERVE=$!
NODE_PID[serve]=$SERVE
read -r line <"$T/fifo" || fail "serve --json closed stdout without a line"
echo "$line" | py 'd["ready"] is True and d["api"] == "'"$H/api.sock"'" and d["listen"] == d["advertise"] or exit(1)' >/dev/null ||
    fail "serve --json ready document: $line"
"$ENTENTE" status --home "$H" >/dev/null 2>"$T/err" || fail "status after the JSON line: $(cat "$T/err")"
stop_serve

# ---- NOTIFY_SOCKET: READY=1 and STOPPING=1 to a listener of our own -----------
# The listener binds, says so on stdout (the fifo), then writes every
# datagram to notify.out, one per record separated by a line "--", and ends
# after STOPPING=1 (or 30 s).
python3 - "$T/notify.sock" "$T/notify.out" >"$T/fifo" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
print("bound", flush=True)
sys.stdout.close()
with open(sys.argv[2], "w") as out:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        out.write(msg + "\n--\n")
        out.flush()
        if "STOPPING=1" in msg.split("\n"):
            break
EOF
LISTENER=$!
NODE_PID[listener]=$LISTENER
read -r line <"$T/fifo" || fail "notify listener did not start"
NOTIFY_SOCKET="$T/notify.sock" "$ENTENTE" serve --home "$H" --log-level warn \
    >"$T/serve4.out" 2>"$T/serve4.log" &
SERVE=$!
NODE_PID[serve]=$SERVE
wait_for "READY=1 on the notify socket" grep -qx "READY=1" "$T/notify.out"
# READY=1 means the API answers
"$ENTENTE" status --home "$H" --json >"$T/status.json" 2>"$T/err" ||
    fail "status right after READY=1: $(cat "$T/err")"
LISTEN=$(py 'd["listen"]' <"$T/status.json")
stop_serve
wait "$LISTENER" || fail "notify listener failed"
unset "NODE_PID[listener]"
printf 'READY=1\nSTATUS=listening on %s, advertising %s\n--\nSTOPPING=1\n--\n' "$LISTEN" "$LISTEN" >"$T/want"
diff "$T/want" "$T/notify.out" >/dev/null || fail "notify datagrams: $(cat "$T/notify.out")"

# an unusable NOTIFY_SOCKET is a warning, never a reason not to serve
NOTIFY_SOCKET="$T/nobody-listens" "$ENTENTE" serve --home "$H" >"$T/serve5.out" 2>"$T/serve5.log" &
SERVE=$!
NODE_PID[serve]=$SERVE
"$ENTENTE" status --home "$H" --wait >/dev/null || fail "serve with a dead NOTIFY_SOCKET"
stop_serve
grep -q "WARN.*sd_notify to \$NOTIFY_SOCKET ($T/nobody-listens): not found" "$T/serve5.log" ||
    fail "no warning for a dead NOTIFY_SOCKET: $(cat "$T/serve5.log")"
grep -q "^ready: " "$T/serve5.out" || fail "no ready line with a dead NOTIFY_SOCKET"

for f in "$T"/serve*.log; do
    grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" "$f" && fail "sanitizer report in $f"
done
echo "ready: ok"
