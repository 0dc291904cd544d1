#!/usr/bin/env bash
# tests/e2e/line_topology.sh - the line A - B - C: A creates an object and
# invites B as admin; B invites C. A and C never learn a usable address of
# each other (A, after B's join, and C advertise 127.0.0.1:1, where nobody
# listens), so every op between them must travel through B: A's edits reach
# C and C's edits reach A by B's relay, and concurrent edits on both ends
# converge. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init line

NOWHERE=127.0.0.1:1
node_start A
node_start B
node_start C ENTENTE_ADVERTISE=$NOWHERE
ORG_A=$(node_org A)
ORG_B=$(node_org B)
ORG_C=$(node_org C)

ID=$(e A object create --type opportunity --set "name=Line deal" \
    --set customer_account=Umbrella)
j=$(e B join "$(e A invite "$ID" --role admin)" 2>"$T/joinB.err") ||
    fail "B join: $(cat "$T/joinB.err")"
[ "$j" = "$ID" ] || fail "B join printed '$j'"
role_b=$(e A object show "$ID" --json | py "[m['role'] for m in d['members'] if m['org']=='$ORG_B'][0]")
[ "$role_b" = admin ] || fail "B's role is '$role_b', want admin"

# A moves to a new port and advertises nowhere: from now on only A can
# open the A-B session (it knows B's address), and no one can reach A.
node_stop A
node_start A ENTENTE_ADVERTISE=$NOWHERE
peer_state() { # peer_state NODE ORG: "addr1,addr2 connected"
    e "$1" peers --json | py "' '.join([','.join(p['addrs']) + ' ' + str(p['connected']).lower() for p in d if p['org']=='$2'])"
}
a_via_nowhere() { [ "$(peer_state B "$ORG_A")" = "$NOWHERE true" ]; }
wait_for "A to redial B and advertise $NOWHERE" a_via_nowhere

# B (admin) invites C; C reaches only B.
j=$(e C join "$(e B invite "$ID")" 2>"$T/joinC.err") ||
    fail "C join: $(cat "$T/joinC.err")"
[ "$j" = "$ID" ] || fail "C join printed '$j'"
three_members() {
    [ "$(e A object show "$ID" --json |
        py 'len([m for m in d["members"] if m["status"]=="active"])')" = 3 ]
}
wait_for "A to learn (through B) that C joined" three_members

has() { shared "$1" "$ID" | grep -q -- "$2"; }
t=$SECONDS
e A object set "$ID" --set "name=FROM-A-TO-C-8812"
wait_for "A's edit to reach C through B" has C FROM-A-TO-C-8812
echo "line_topology: A -> C in $((SECONDS - t))s"
t=$SECONDS
e C object set "$ID" --set "next_step=FROM-C-TO-A-3307"
wait_for "C's edit to reach A through B" has A FROM-C-TO-A-3307
echo "line_topology: C -> A in $((SECONDS - t))s"

# concurrent edits at both ends of the line, same and different fields
for r in 1 2 3; do
    e A object set "$ID" --set "customer_account=ACCT-A-$r" --custom "description=DESC-A-$r" &
    p1=$!
    e C object set "$ID" --set "customer_account=ACCT-C-$r" --custom "competitor=COMP-C-$r" &
    p2=$!
    wait $p1 && wait $p2 || fail "a concurrent set failed"
done
all3() {
    same_shared "$ID" A B C && has A DESC-A-3 && has A COMP-C-3
}
wait_for "the line to converge" all3
acct=$(shared A "$ID" | py 'd["customer_account"]')
case "$acct" in ACCT-A-3 | ACCT-C-3) ;; *) fail "customer_account is '$acct'" ;; esac

# A and C are not connected to each other (they may know each other's
# org as fellow members, but only at the unusable address).
case "$(peer_state A "$ORG_C")" in *true) fail "A is connected to C" ;; esac
case "$(peer_state C "$ORG_A")" in *true) fail "C is connected to A" ;; esac
case "$(peer_state C "$ORG_B")" in *true) ;; *) fail "C is not connected to B" ;; esac
nodes_stop_all
echo "line_topology: ok"
