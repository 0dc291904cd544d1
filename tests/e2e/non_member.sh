#!/usr/bin/env bash
# tests/e2e/non_member.sh - invariant 2: a node that is not a member of an
# object never receives that object's ops, not even as ciphertext.
# A and X share O2 (so X is a connected partner of A, receiving O2's ops and
# anti-entropy rounds all along); A and B share O1, which A and B edit a lot
# (with a canary in a shared field) and comment on, while A keeps editing O2
# too. Then X's database files hold neither O1's raw 32-byte id (it is in
# clear in every op header of O1) nor the canary, X lists only O2, and no
# node logged an op of O1 refused from or sent to the wrong org.
# Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init nonmember

CANARY=CANARY-O1-SHARED-5521
node_start A
node_start B
node_start X
ORG_X=$(node_org X)

O2=$(e A object create --type lead --set company=Wayne-Enterprises)
j=$(e X join "$(e A invite "$O2")" 2>"$T/joinX.err") || fail "X join: $(cat "$T/joinX.err")"
[ "$j" = "$O2" ] || fail "X join printed '$j'"

O1=$(e A object create --type opportunity --set "name=$CANARY" \
    --set customer_account=Stark --private internal_notes=private-of-A)
j=$(e B join "$(e A invite "$O1")" 2>"$T/joinB.err") || fail "B join: $(cat "$T/joinB.err")"
[ "$j" = "$O1" ] || fail "B join printed '$j'"

# X is connected to A while O1 is busy.
x_connected() { e A peers --json | py "[p['connected'] for p in d if p['org']=='$ORG_X'][0]" | grep -q True; }
wait_for "A to be connected to X" x_connected

n_ops=0
for r in $(seq 1 8); do
    e A object set "$O1" --set "name=$CANARY-A-$r" --set "next_step=step-A-$r" &
    p1=$!
    e B object set "$O1" --set "customer_account=$CANARY-B-$r" &
    p2=$!
    e A object set "$O2" --set "contact_name=contact-$r" &
    p3=$!
    wait $p1 && wait $p2 && wait $p3 || fail "a set failed"
    n_ops=$((n_ops + 2))
done
e A object comment "$O1" "comment $CANARY from A"
e B object comment "$O1" "comment $CANARY from B"
e A object stage "$O1" Proposal
n_ops=$((n_ops + 3))

o1_done() {
    same_shared "$O1" A B && shared B "$O1" | grep -q "$CANARY-A-8" &&
        shared A "$O1" | grep -q "$CANARY-B-8" &&
        e B object show "$O1" --json | grep -q "comment $CANARY from A"
}
wait_for "A and B to converge on O1" o1_done
o2_done() { shared X "$O2" | grep -q contact-8; }
wait_for "X to receive A's O2 edits" o2_done
sleep 1.5 # three more anti-entropy rounds (ENTENTE_SYNC_MS=500)

# --- X holds nothing of O1 ----------------------------------------------------------
# positive controls: the scan finds O1 in B's files and O2 in X's
db_has B "$O1" || fail "scan does not find O1's id in B's database"
db_has X "$O2" || fail "scan does not find O2's id in X's database"
db_has X "$O1" && fail "O1's raw object id is in X's database"
cnr=$(printf %s "$CANARY" | od -An -tx1 | tr -d ' \n')
db_has X "$cnr" && fail "the O1 canary is in X's database"
for f in "$T/X/"* "$T/X/db/"*; do
    [ -f "$f" ] || continue
    [ "$(grep -c -a -e "$CANARY" -e "$O1" "$f" || true)" = 0 ] || fail "O1 traces in $f"
done
grep -q -e "$O1" -e "$CANARY" "$T/X.log" && fail "X's log mentions O1"

LIST=$(e X object list --json)
[ "$(echo "$LIST" | py '" ".join(o["id"] for o in d)')" = "$O2" ] ||
    fail "X lists $LIST, want only $O2"
e X object show "$O1" --json >/dev/null 2>&1 && fail "X can show O1"
[ "$(e X status --json | py 'd["objects"]')" = 1 ] || fail "X status counts != 1 object"

# nobody sent O1's ops to X: X never dropped ops as from a non-member, A
# never got X's NOTMEMBER refusal, and neither logged a protocol violation
for n in A B X; do
    grep -q "not a member" "$T/$n.log" && fail "$n logged a non-member exchange: $(grep "not a member" "$T/$n.log" | head -3)"
    grep -q "peers: dropping" "$T/$n.log" && fail "$n dropped a peer: $(grep "peers: dropping" "$T/$n.log" | head -3)"
done
echo "non_member: $n_ops O1 ops between A and B, none reached X"
nodes_stop_all
echo "non_member: ok"
