#!/usr/bin/env bash
# tests/e2e/authority.sh - issue 11 across real `entente serve` processes:
# authority comes from causal history, never from a clock an org picks
# (invariant 7), when the ops travel between processes and through a relay.
# The misbehaving org is played by tests/tools/forge (built next to
# $ENTENTE: build/asan/tests/tools/forge), which signs ops with a stopped
# node's key file and puts them in that node's own store; the real node
# then offers them to its partners like any other op.
#
# (a) A removed admin relayed by a member who was offline. Owner O, admin
#     X, member M. M and X stop; O removes X and writes under the new
#     epoch; O stops. X (holding the old epoch key, unaware) crafts three
#     back-dated ops concurrent with its removal: it makes a puppet org an
#     admin, rotates the key to one of its own making and renames the
#     object. X and M come back (O down): M takes them (X is an admin in all
#     M has seen). O comes back: M relays X's ops to O, O's removal reaches
#     M and X. Then on every node X is removed, the puppet is no member, the
#     rename does not show, O's later writes never reach X, and none of the
#     ops written by others under an epoch after the removal opens with any
#     key X holds (forge open, reading O's store with X's keys).
# (b) Owner-only seizure. Object program, mdf_budget owner-only.
#     M's CLI refuses to set it; M's own engine refuses an op carrying the
#     owner-only flag; M's plain write with an HLC 9 minutes ahead reaches O
#     after O set the field, and O still shows its own value, and sets it
#     again.
# Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FORGE=${ENTENTE_FORGE:-$(dirname "$ENTENTE")/tests/tools/forge}
[ -x "$FORGE" ] || { echo "FAIL: no $FORGE (make build/asan/tests/tools/forge)" >&2; exit 1; }
lib_init authority

connected_to() {
    e "$1" peers --json | python3 -c '
import json, sys
sys.exit(0 if any(p["org"] == sys.argv[1] and p["connected"]
                  for p in json.load(sys.stdin)) else 1)' "$2"
}
# member_state NODE OBJ ORG: "active", "removed" or "absent"
member_state() {
    e "$1" object show "$2" --json | python3 -c '
import json, sys
m = [x for x in json.load(sys.stdin)["members"] if x["org"] == sys.argv[1]]
print(m[0].get("status", "active") if m else "absent")' "$3"
}
# accepted_from NODE ORG: ops of ORG this node accepted (its activity log)
accepted_from() {
    e "$1" log --json | python3 -c '
import json, sys
print(sum(1 for x in json.load(sys.stdin)["entries"]
          if x["kind"] == "op_accepted" and x.get("org") == sys.argv[1]))' "$2"
}
has() { shared "$1" "$2" | grep -q -- "$3"; }

node_start O
node_start X
node_start M
ORG_X=$(node_org X)
ORG_M=$(node_org M)

# ============ (a) a removed admin relayed by a member who was offline ========
ID=$(e O object create --type opportunity --set "name=Authority deal" \
    --set customer_account=Wayne)
j=$(e X join "$(e O invite "$ID" --role admin)" 2>"$T/joinX.err") ||
    fail "X join: $(cat "$T/joinX.err")"
j=$(e M join "$(e O invite "$ID" --role member)" 2>"$T/joinM.err") ||
    fail "M join: $(cat "$T/joinM.err")"
wait_for "all three to agree" same_shared "$ID" O X M
wait_for "M and X to know each other directly" connected_to M "$ORG_X"
[ "$(member_state O "$ID" "$ORG_X")" = active ] || fail "X is not a member"

# X and M come back on the ports they had (each knows only the other's
# address from before; O is down then)
NODE_LISTEN_AT[X]=$(node_listen X)
NODE_LISTEN_AT[M]=$(node_listen M)
node_stop M
node_stop X
e O member remove "$ID" "$ORG_X"
e O object set "$ID" --set "next_step=WRITTEN-AFTER-X-REMOVED"
node_stop O

SEED=$(printf '%064x' 4242)
F=$("$FORGE" backdate "$T/X" "$ID" "$SEED") || fail "forge backdate"
PUPPET=$(echo "$F" | py 'd["puppet"]')
echo "authority: X forged $F"

node_start X
node_start M
wait_for "M to take X's back-dated ops from X (O down)" has M "$ID" BACKDATED-BY-X
[ "$(member_state M "$ID" "$PUPPET")" = active ] ||
    fail "M did not take X's add of the puppet (X is an admin in M's view)"

node_start O
is_out() { # is_out NODE: X removed, the puppet no member, the rename gone
    [ "$(member_state "$1" "$ID" "$ORG_X")" = removed ] &&
        [ "$(member_state "$1" "$ID" "$PUPPET")" != active ] &&
        ! has "$1" "$ID" BACKDATED-BY-X
}
wait_for "O to count X's relayed ops for nothing" is_out O
wait_for "M to count X's ops for nothing once it has the removal" is_out M
x_removed() { [ "$(e X object show "$ID" --json | py 'd["status"]')" = removed ]; }
wait_for "X to learn it was removed" x_removed
relayed() { [ "$(accepted_from O "$ORG_X")" -ge 3 ]; }
wait_for "O to hold X's three ops, relayed by M" relayed
n=$(accepted_from O "$ORG_X")
echo "authority: O accepted $n ops of X relayed by M; they count for nothing"
wait_for "O and M to agree" same_shared "$ID" O M
has M "$ID" WRITTEN-AFTER-X-REMOVED || fail "M lacks O's write after the removal"

e O object set "$ID" --custom "competitor=SECRET-AFTER-CONVERGENCE"
wait_for "M to get O's later write" has M "$ID" SECRET-AFTER-CONVERGENCE
e M object set "$ID" --custom "description=M-AFTER-CONVERGENCE"
wait_for "O to get M's later write" has O "$ID" M-AFTER-CONVERGENCE
sleep 1.5 # anti-entropy rounds: nothing may reach X
for v in WRITTEN-AFTER-X-REMOVED SECRET-AFTER-CONVERGENCE M-AFTER-CONVERGENCE; do
    has X "$ID" "$v" && fail "X shows $v, written after its removal"
done
for n in O M X; do
    [ "$(member_state $n "$ID" "$ORG_X")" != active ] || fail "X is active on $n"
done

# ============ (b) an owner-only field seized with a crafted clock ============
ID2=$(e O object create --type program --set "name=Q3 event")
j=$(e M join "$(e O invite "$ID2" --role member)" 2>"$T/joinM2.err") ||
    fail "M join 2: $(cat "$T/joinM2.err")"
wait_for "O and M to agree on the program" same_shared "$ID2" O M
if e M object set "$ID2" --set "mdf_budget=5000 USD" 2>"$T/m_set.err"; then
    fail "M's CLI set the owner-only mdf_budget"
fi
grep -q "owner-only" "$T/m_set.err" || fail "M's refusal does not say owner-only: $(cat "$T/m_set.err")"
e O object set "$ID2" --set "mdf_budget=12000 USD"
wait_for "M to see O's amount" has M "$ID2" 12000
before=$(accepted_from O "$ORG_M")
node_stop M
R=$("$FORGE" set "$T/M" "$ID2" mdf_budget "999999 USD" 540000 flag)
[ "$(echo "$R" | py 'd["rc"]')" = ENT_EDENIED ] ||
    fail "M's own engine took an owner-only write by a member: $R"
R=$("$FORGE" set "$T/M" "$ID2" mdf_budget "888888 USD" 540000)
[ "$(echo "$R" | py 'd["rc"]')" = ENT_OK ] || fail "forge set (plain): $R"
echo "authority: M wrote mdf_budget with an HLC 9 minutes ahead: $R"
node_start M
got_m() { [ "$(accepted_from O "$ORG_M")" -gt "$before" ]; }
wait_for "O to receive M's crafted write" got_m
wait_for "O and M to agree after M's write" same_shared "$ID2" O M
for n in O M; do
    has $n "$ID2" 12000 || fail "$n no longer shows the owner's amount: $(shared $n "$ID2")"
    has $n "$ID2" 888888 && fail "$n shows M's seized amount"
done
e O object set "$ID2" --set "mdf_budget=15000 USD" ||
    fail "the owner cannot set its own field any more"
wait_for "M to see the owner's new amount" has M "$ID2" 15000
has O "$ID2" 15000 || fail "O does not show its new amount"

# ============ (a) continued: nothing later opens with X's keys ================
nodes_stop_all
R=$("$FORGE" open "$T/X" "$T/O" "$ID") || fail "forge open"
echo "authority: X's keys against O's store: $R"
echo "$R" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["x_max_hlc"] < d["removal_hlc"], "X'"'"'s ops are not back-dated"
assert d["later"] >= 3, "too few ops after the removal to prove anything"
assert d["opened"] == 0, "X opened %d ops written after its removal" % d["opened"]
' || fail "X reads what was written after its removal: $R"
echo "authority: ok"
