#!/usr/bin/env bash
# tests/e2e/privacy.sh - the privacy canary across everything (invariant 1).
#
# Four real nodes on loopback (D a viewer), each run with the session test hook
# ENTENTE_WIRE_DUMP (every plaintext message sent and received, see
# spec/sessions.md) and --log-level debug. Each node writes a private-field
# canary CANARY-<node>-PRIV-<random> (at create, at set, and again after
# shared edits so that traffic follows it). At the end each canary must
# appear in no byte of any wire dump (the owner's included), in no partner's
# database file, in no log line of any node, and in no audit export, the
# owner's own included (an export holds encrypted ops and log entries only).
# Positive controls prove the checks can fail: each canary IS in its owner's
# database, and the dumps do hold plaintext HELLO names. Shared values are
# checked too: ops bodies are encrypted, so a shared canary is in no dump.
# D joins as a viewer: it may not change a shared field, but keeps private
# fields of its own on the object, and its canary obeys the same rules.
# Needs $ENTENTE (the binary under test).
set -euo pipefail
export ENTENTE_DIAL_BASE_MS=100
export ENTENTE_SYNC_MS=300
. "$(dirname "$0")/lib.sh"
WAIT_SECONDS=20

rnd() { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }

lib_init priv
SERVE_ARGS=(--log-level debug)
start() { # start NAME: its wire dump in $T/NAME.wire
    node_init "$1" "priv$1"
    node_start "$1" ENTENTE_WIRE_DUMP="$T/$1.wire"
}

declare -A CAN
for n in A B C D; do CAN[$n]="CANARY-$n-PRIV-$(rnd)"; done
SHARED_CAN="SHARED-CANARY-$(rnd)"

start A
start B
start C
start D

ID=$(e A object create --type opportunity --set "name=Privacy deal" \
    --set customer_account=Initech --private "internal_notes=${CAN[A]}")
JB=$(e B join "$(e A invite "$ID")" 2>/dev/null) || fail "B join"
JC=$(e C join "$(e A invite "$ID")" 2>/dev/null) || fail "C join"
JD=$(e D join "$(e A invite "$ID" --role viewer 2>/dev/null)" 2>/dev/null) || fail "D join"
[ "$JB" = "$ID" ] && [ "$JC" = "$ID" ] && [ "$JD" = "$ID" ] || fail "join printed the wrong id"

# private canaries on every node, each followed by shared edits
for n in A B C; do
    e $n object set "$ID" --private "internal_notes=${CAN[$n]}" \
        --private "partner_notes=${CAN[$n]}-notes"
    e $n object set "$ID" --set "next_step=step-by-$n" \
        --private "forecast_note=${CAN[$n]} again"
done
# the viewer: its private fields are its own, a shared change is refused
e D object set "$ID" --private "internal_notes=${CAN[D]}" \
    --private "partner_notes=${CAN[D]}-notes"
e D object set "$ID" --set "next_step=${CAN[D]}" 2>"$T/viewer.err" &&
    fail "a viewer changed a shared field"
grep -q "role viewer may not change shared field next_step" "$T/viewer.err" ||
    fail "viewer refusal: $(cat "$T/viewer.err")"
e D object set "$ID" --private "forecast_note=${CAN[D]} again"
e A object set "$ID" --set "next_step=$SHARED_CAN"

# the last edit on A (values only grow), then the same on B and C
converged() {
    shared A "$ID" | grep -q "$SHARED_CAN" && same_shared "$ID" A B C D
}
wait_for "the four shared states to converge" converged
sleep 1 # a few anti-entropy rounds (HAVE, catch-up) on the wire

for n in A B C D; do
    e $n object show "$ID" --json | grep -q -F "${CAN[$n]}" ||
        fail "$n does not show its own canary"
    e $n audit export --out "$T/$n.audit" >/dev/null ||
        fail "$n audit export"
done
# stop the nodes: logs and dumps are complete
for n in A B C; do node_stop $n; done

has() { grep -a -F -q -- "$1" "$2"; }

# positive controls: the hook worked, the canaries were really written
for n in A B C D; do
    [ -s "$T/$n.wire" ] || fail "no wire dump from $n"
    has "TEST HOOK ENTENTE_WIRE_DUMP" "$T/$n.log" ||
        fail "$n did not announce the wire dump hook"
    found=0
    for f in "$T/$n/db/"*; do has "${CAN[$n]}" "$f" && found=1; done
    [ $found = 1 ] || fail "${CAN[$n]} is not even in $n's own database"
done
has "privA" "$T/B.wire" || fail "B's dump lacks A's plaintext HELLO"
has "privB" "$T/A.wire" || fail "A's dump lacks B's plaintext HELLO"

checked=0
for n in A B C D; do
    c=${CAN[$n]}
    for m in A B C D; do
        has "$c" "$T/$m.wire" && fail "$c found in $m's wire dump"
        has "$c" "$T/$m.log" && fail "$c found in $m's log"
        has "$c" "$T/$m.audit" && fail "$c found in $m's audit export"
        checked=$((checked + 3))
        [ $m = "$n" ] && continue
        for f in "$T/$m/db/"*; do
            has "$c" "$f" && fail "$c found in $m's database ($f)"
            checked=$((checked + 1))
        done
    done
done
# shared values travel only inside encrypted op bodies
for m in A B C D; do
    has "$SHARED_CAN" "$T/$m.wire" && fail "a shared value is plaintext in $m's dump"
done
bytes=$(cat "$T"/*.wire | wc -c)
echo "privacy: ok (4 canaries, a viewer's among them, $checked file checks, $bytes bytes of plaintext wire dumps)"
