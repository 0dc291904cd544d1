#!/usr/bin/env bash
# tests/e2e/guest_flood.sh - an outsider floods a node with guest sessions
# and cannot lock its partners out (spec/sessions.md "Guests, strikes and
# bans", "Refusal summary").
#
# A and B are real `entente serve` processes; B joined A's object O through
# an invite, so A lets guests in. guest_flood.py (a second implementation
# of the handshake, in Python over libsodium) then keeps 256 guest sessions
# dialling A from 127.0.0.1 until the test stops it (at most 180 s): each
# says HELLO and PINGs, never JOINs. While it runs:
#   - A holds at most 4 guests at once (status "sessions" and the flooder's
#     own count), never answers a guest's PING, closes them and bans the
#     address as a guest;
#   - both nodes edit O, B is stopped and started again (a member connects
#     from the flooded, banned address), and both converge.
# Afterwards A's log has one refusal summary line per interval (1 s here)
# whose counts add up to the refusals A counted, and no line of its own for
# any refusal. Every process and folder is removed at the end. Needs
# $ENTENTE and python3 (ctypes, libsodium).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init guestflood

FLOOD_PID=
flood_cleanup() {
    local st=$? # the script's: lib_cleanup exits with it
    if [ -n "$FLOOD_PID" ]; then
        kill "$FLOOD_PID" 2>/dev/null || true
        wait "$FLOOD_PID" 2>/dev/null || true
    fi
    lib_cleanup "$st"
}
trap flood_cleanup EXIT

node_start A ENTENTE_REFUSAL_LOG_MS=1000
node_start B
O=$(e A object create --type opportunity --set name=flooded-deal)
j=$(e B join "$(e A invite "$O")" 2>"$T/join.err") || fail "B join: $(cat "$T/join.err")"
[ "$j" = "$O" ] || fail "B join printed '$j'"
wait_for "B to hold O" same_shared "$O" A B

sessions() { e A status --json | py "d['sessions']['$1']"; }
[ "$(sessions guests)" = 0 ] || fail "guests before the flood"
[ "$(sessions refused)" = 0 ] || fail "refusals before the flood"

# ---- the flood ---------------------------------------------------------------
python3 "$(dirname "$0")/guest_flood.py" "$(node_listen A)" "$(node_org A)" \
    256 180 "$T/flood.json" >"$T/flood.out" 2>&1 &
FLOOD_PID=$!
t0=$SECONDS
flooding() { [ "$(sessions refused)" -gt 50 ]; }
wait_for "A to refuse the flood" flooding
max_guests=$(sessions guests)

# members edit and reconnect while it runs
e A object set "$O" --set next_step=edited-by-A-in-the-flood
node_stop B
node_start B
e B object set "$O" --set customer_account=edited-by-B-in-the-flood
both_edits() {
    for n in A B; do
        shared "$n" "$O" | grep -q edited-by-A-in-the-flood || return 1
        shared "$n" "$O" | grep -q edited-by-B-in-the-flood || return 1
    done
}
WAIT_SECONDS=90 wait_for "A and B to converge during the flood" both_edits
took=$((SECONDS - t0))
kill -0 "$FLOOD_PID" 2>/dev/null || fail "the flood ended before A and B converged (${took}s)"
sessions refused >"$T/refused.before"
g=$(sessions guests)
[ "$g" -gt "$max_guests" ] && max_guests=$g
echo "A and B converged ${took}s into the flood; A held at most $max_guests guests"
[ "$max_guests" -le 4 ] || fail "A held $max_guests guests at once (cap: 4 per address)"

kill -TERM "$FLOOD_PID"
wait "$FLOOD_PID" || fail "guest_flood.py failed: $(cat "$T/flood.out")"
FLOOD_PID=
cat "$T/flood.out"
fl() { py "d['$1']" <"$T/flood.json"; }
[ "$(fl dials)" -ge 256 ] || fail "the flood dialled only $(fl dials) times"
[ "$(fl pongs)" = 0 ] || fail "A answered a guest's PING"
[ "$(fl max_admitted)" -le 4 ] || fail "the flood held $(fl max_admitted) guests at once"
[ "$(fl admitted)" -lt "$(fl dials)" ] || fail "every guest was let in"

ST=$(e A status --json)
refused=$(echo "$ST" | py 'd["sessions"]["refused"]')
echo "A: $(echo "$ST" | py 'json.dumps(d["sessions"], sort_keys=True)')"
[ "$refused" -ge "$(cat "$T/refused.before")" ] || fail "refusals went down"
[ "$refused" -gt 50 ] || fail "A refused only $refused connections"
[ "$(echo "$ST" | py 'd["sessions"]["bans"]')" -ge 1 ] || fail "no ban"
[ "$(echo "$ST" | py 'd["sessions"]["guests_closed"]')" -ge 3 ] || fail "no guest closed"

nodes_stop_all
flood_seconds=$((SECONDS - t0))

# ---- A's log: summaries only ---------------------------------------------------
summaries=$(grep -c "session: refused [0-9]* connection" "$T/A.log" || true)
summed=$(grep -o "session: refused [0-9]* connection" "$T/A.log" |
    awk '{ s += $3 } END { print s + 0 }')
echo "A's log: $summaries summary lines for $summed refusals"
[ "$summaries" -ge 1 ] || fail "no refusal summary in A's log"
[ "$summaries" -le $((flood_seconds + 2)) ] || fail "$summaries summary lines in ${flood_seconds}s"
[ "$summed" -ge "$refused" ] || fail "the summaries count $summed refusals, A counted $refused"
for pat in "not authorized" "connection refused" "from a non-member" \
    "from a guest" "guest limit" "banned address" "dropped: handshake"; do
    n=$(grep -v "session: refused [0-9]* connection" "$T/A.log" | grep -c "$pat" || true)
    [ "$n" = 0 ] || fail "A logged '$pat' on $n lines of their own"
done
[ "$(grep -c "peers: banning address" "$T/A.log" || true)" -ge 1 ] || fail "no ban line"
echo "guest_flood: ok"
