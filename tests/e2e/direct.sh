#!/usr/bin/env bash
# tests/e2e/direct.sh - members reach each other directly (spec/gossip.md
# §10). The owner A invites B and C; neither was told the other's address.
# A hands each the other's signed address record, B and C dial each other,
# then A stops: an edit of B reaches C and one of C reaches B with the
# inviter offline, and each shows the other as a connected peer at the
# address the other advertised. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init direct

node_start A
node_start B
node_start C
ORG_B=$(node_org B)
ORG_C=$(node_org C)
ID=$(e A object create --type opportunity --set "name=Direct deal" \
    --set customer_account=Initech)
for n in B C; do
    j=$(e $n join "$(e A invite "$ID")" 2>"$T/join$n.err") ||
        fail "$n join: $(cat "$T/join$n.err")"
    [ "$j" = "$ID" ] || fail "$n join printed '$j'"
done
wait_for "all three to agree after the joins" same_shared "$ID" A B C

# connected_to NODE ORG ADDR: NODE has a session with ORG, listed at ADDR
connected_to() {
    e "$1" peers --json | python3 -c '
import json, sys
org, addr = sys.argv[1], sys.argv[2]
ok = any(p["org"] == org and p["connected"] and addr in p["addrs"]
         for p in json.load(sys.stdin))
sys.exit(0 if ok else 1)' "$2" "$3"
}
wait_for "B to connect to C directly" connected_to B "$ORG_C" "$(node_listen C)"
wait_for "C to connect to B directly" connected_to C "$ORG_B" "$(node_listen B)"

# --- the inviter goes away ------------------------------------------------
node_stop A
has() { shared "$1" "$ID" | grep -q -- "$2"; }
e B object set "$ID" --set "next_step=EDIT-B-WHILE-A-DOWN"
wait_for "C to receive B's edit with A down" has C EDIT-B-WHILE-A-DOWN
e C object set "$ID" --custom "competitor=EDIT-C-WHILE-A-DOWN"
wait_for "B to receive C's edit with A down" has B EDIT-C-WHILE-A-DOWN
wait_for "B and C to agree" same_shared "$ID" B C

# --- A comes back on a new port and catches up ------------------------------
node_start A
wait_for "A to catch up" same_shared "$ID" A B C
nodes_stop_all
echo "direct: ok (B and C exchanged edits directly with the inviter down)"
