#!/usr/bin/env bash
# tests/e2e/three_nodes.sh - three real nodes on loopback: invite and join,
# shared state arrives, concurrent edits converge, private fields never
# leave their node (invariant 1, checked in every other node's LMDB files),
# member removal moves the epoch and shuts the removed node out
# (invariants 2 and 4). Needs $ENTENTE (the binary under test).
set -euo pipefail
export ENTENTE_DIAL_BASE_MS=100
export ENTENTE_SYNC_MS=500
. "$(dirname "$0")/lib.sh"
WAIT_SECONDS=20

lib_init 3n
node_start A
node_start B
node_start C
ORG_A=$(node_org A)
ORG_B=$(node_org B)
ORG_C=$(node_org C)
LISTEN_A=$(node_listen A)
case "$LISTEN_A" in 127.0.0.1:0|"") fail "A has no actual port: $LISTEN_A" ;; esac

ID=$(e A object create --type opportunity --set "name=Globex ERP" \
    --set customer_account=Globex --set stage=Qualification \
    --private "internal_notes=CANARY-A-PRIV-7731")

# --- invite and join ------------------------------------------------------
TOK_B=$(e A invite "$ID")
TOK_C=$(e A invite "$ID" --role member --ttl 1h)
[ "$(echo "$TOK_B" | wc -l)" -eq 1 ] || fail "invite printed more than one line"
case "$TOK_B" in ent1*) ;; *) fail "token does not start with ent1: $TOK_B" ;; esac
JB=$(e B join "$TOK_B" 2>"$T/joinB.err") || fail "B join: $(cat "$T/joinB.err")"
[ "$JB" = "$ID" ] || fail "B join printed '$JB', want $ID"
grep -q "safety code: [0-9]" "$T/joinB.err" || fail "no safety code on join"
JC=$(e C join "$TOK_C" --json 2>"$T/joinC.err" | py 'd["id"]') ||
    fail "C join: $(cat "$T/joinC.err")"
[ "$JC" = "$ID" ] || fail "C join printed '$JC', want $ID"

# the safety code shown to B equals A's for B
SAFE_B=$(sed -n 's/^safety code: //p' "$T/joinB.err")
SAFE_AB=$(e A peers --json | py "[p['safety'] for p in d if p['org']=='$ORG_B'][0]")
[ "$SAFE_B" = "$SAFE_AB" ] || fail "safety codes differ: '$SAFE_B' vs '$SAFE_AB'"

for n in B C; do
    e $n object show "$ID" --json >"$T/$n.json"
    [ "$(py 'd["shared"]["name"]' <"$T/$n.json")" = "Globex ERP" ] ||
        fail "$n does not see A's shared name"
    [ "$(py 'len(d["private"])' <"$T/$n.json")" = 0 ] ||
        fail "$n sees private fields: $(cat "$T/$n.json")"
    grep -q CANARY-A "$T/$n.json" && fail "$n shows A's canary"
done
[ "$(e A object show "$ID" --json | py 'len([m for m in d["members"] if m["status"]=="active"])')" = 3 ] ||
    fail "A does not list three active members"

# --- concurrent edits -----------------------------------------------------
e A object set "$ID" --set close_date=2026-03-31 --private "internal_notes=CANARY-A-PRIV-7731 v2" &
P1=$!
e B object set "$ID" --set customer_account=Globex-EU --private "internal_notes=CANARY-B-PRIV-4417" &
P2=$!
e C object set "$ID" --set stage=Proposal --private "internal_notes=CANARY-C-PRIV-9052" &
P3=$!
wait $P1 $P2 $P3 || fail "a concurrent set failed"

# all three edits on A (they only add), then the same on B and C
converged() {
    local a
    a=$(shared A "$ID") || return 1
    echo "$a" | grep -q 2026-03-31 && echo "$a" | grep -q Globex-EU &&
        echo "$a" | grep -q Proposal && same_shared "$ID" A B C
}
wait_for "the three shared states to converge" converged

for n in A B C; do
    p=$(e $n object show "$ID" --json | py 'json.dumps(d["private"])')
    for m in A B C; do
        if [ $m = $n ]; then
            echo "$p" | grep -q "CANARY-$m" || fail "$n lost its own canary"
        else
            echo "$p" | grep -q "CANARY-$m" && fail "$n shows $m's canary"
        fi
    done
done

# invariant 1: no canary in another node's database or lock file
check_canaries() {
    for n in A B C; do
        for m in A B C; do
            [ $m = $n ] && continue
            for f in "$T/$n/db/"*; do
                c=$(grep -c -a "CANARY-$m" "$f" || true)
                [ "$c" = 0 ] || fail "CANARY-$m found in $f ($c)"
            done
        done
    done
}
check_canaries

# B and C learn each other's address from A while all three are members
# (spec/gossip.md §10): at the latest at A's next ADDRS refresh, 10 s
peers2() { [ "$(e "$1" status --json | py 'd["peers"]')" = 2 ]; }
wait_for "B to know A and C" peers2 B
wait_for "C to know A and B" peers2 C

# --- removal ----------------------------------------------------------------
EPOCH0=$(e A object show "$ID" --json | py 'd["epoch"]')
C_BEFORE=$(shared C "$ID")
e A member remove "$ID" "$ORG_C"
wait_for "C to learn of its removal" \
    sh -c "'$ENTENTE' object show $ID --json --home '$T/C' | grep -q '\"status\": *\"removed\"'"
e A object set "$ID" --set "name=LATER-EDIT-A-5531"
e B object set "$ID" --set "close_date=2027-01-15"
seesB() { shared B "$ID" | grep -q LATER-EDIT-A-5531 && shared A "$ID" | grep -q 2027-01-15; }
wait_for "B and A to see the later edits" seesB
sleep 1.5 # several sync rounds: nothing may reach C
[ "$(shared C "$ID")" = "$C_BEFORE" ] || fail "C's shared state changed after removal: $(shared C "$ID")"
for f in "$T/C/db/"*; do
    for v in LATER-EDIT-A-5531 2027-01-15; do
        [ "$(grep -c -a "$v" "$f" || true)" = 0 ] || fail "$v reached C ($f)"
    done
done
for n in A B; do
    ep=$(e $n object show "$ID" --json | py 'd["epoch"]')
    [ "$ep" = $((EPOCH0 + 1)) ] || fail "$n epoch $ep, want $((EPOCH0 + 1))"
done
check_canaries

# --- peers --------------------------------------------------------------------
# every node knows both others: B and C got each other's signed address
# records from A while all three were members (spec/gossip.md §10)
for n in A B C; do
    [ "$(e $n status --json | py 'd["peers"]')" = 2 ] || fail "$n peers != 2"
done
[ "$(e B peers --json | py "sorted(p['org'] for p in d) == sorted(['$ORG_A', '$ORG_C'])")" = True ] ||
    fail "B's peers are not A and C"
e B peers | grep -q "safety code" || fail "peers prints no safety code"
echo "three_nodes: ok"
