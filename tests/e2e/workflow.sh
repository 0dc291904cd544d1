#!/usr/bin/env bash
# tests/e2e/workflow.sh - issue 15 (1-3) across three real `entente serve`
# processes on loopback (spec/workflows.md): the vendor V stores a template
# whose workflow the object takes; the partner P and a third member A join.
#
# (a) The rules travel with the object: P and A have no workflow in their
#     own templates, yet P's node refuses P's move without approval, with
#     the reason; P approving its own request does not let P move; a write
#     of a field the rules give the owner is refused; A's approval (from
#     `entente inbox`, without --step) lets P move; all three agree.
# (b) An approval concurrent with its approver's removal: P and A stop; V
#     removes A and stops; A and P come back (V down): A approves, P moves
#     to Approved on it. V comes back: on every node the move counts for
#     nothing (the approval is voided by the removal), P's own node
#     included once the removal reaches it, and all agree.
# (c) A rejection and the rules view; a rules change by a non-owner is
#     refused, by the owner taken.
# Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init workflow

stage_is() { [ "$(e "$1" object show "$2" --json | py 'd["shared"].get("stage")')" = "$3" ]; }
has_approvals() { [ "$(e "$1" inbox --json | py 'len(d["approvals"])')" -ge "$2" ]; }
connected_to() {
    e "$1" peers --json | python3 -c '
import json, sys
sys.exit(0 if any(p["org"] == sys.argv[1] and p["connected"]
                  for p in json.load(sys.stdin)) else 1)' "$2"
}
decisions() { e "$1" object rules "$2" --json | py 'len(d["decisions"])'; }
# decisions_ge NODE OBJ N: NODE holds at least N approvals/rejections of OBJ
decisions_ge() { [ "$(decisions "$1" "$2")" -ge "$3" ]; }
# accepted_from NODE ORG: ops of ORG this node accepted (its activity log)
accepted_from() {
    e "$1" log --json | python3 -c '
import json, sys
print(sum(1 for x in json.load(sys.stdin)["entries"]
          if x["kind"] == "op_accepted" and x.get("org") == sys.argv[1]))' "$2"
}
accepted_more() { [ "$(accepted_from "$1" "$2")" -gt "$3" ]; }
rules_count() { [ "$(e "$1" object rules "$2" --json | py 'len(d["rules"]["transitions"])')" = "$3" ]; }

node_start V
node_start P
node_start A
ORG_A=$(node_org A)
ORG_P=$(node_org P)

cat >"$T/tpl.json" <<'EOF'
{"type":"mdf_req","fields":[
  {"name":"name","type":"text","visibility":"shared"},
  {"name":"amount_approved","type":"text","visibility":"shared"},
  {"name":"stage","type":"enum","visibility":"shared","default":"Draft"}],
 "stages":["Draft","Submitted","Approved","Rejected"],
 "workflow":{"transitions":[
   {"from":"Draft","to":"Submitted","who":["any"]},
   {"from":"Submitted","to":"Approved","who":["any"],
    "approvals":[{"step":"finance","by":"role:member"}]},
   {"from":"*","to":"Rejected","who":["owner"]}],
  "field_owners":{"amount_approved":"owner"}}}
EOF
e V template set mdf_req "$T/tpl.json" >/dev/null
# P and A know the type's stages, not its workflow: the rules come with
# the object
python3 -c '
import json, sys
t = json.load(open(sys.argv[1])); del t["workflow"]
json.dump(t, open(sys.argv[2], "w"))' "$T/tpl.json" "$T/plain.json"
e P template set mdf_req "$T/plain.json" >/dev/null
e A template set mdf_req "$T/plain.json" >/dev/null

# ============ (a) the rules travel with the object ============================
ID=$(e V object create --type mdf_req --set "name=Q3 roadshow")
j=$(e P join "$(e V invite "$ID" --role member 2>/dev/null)" 2>"$T/joinP.err") ||
    fail "P join: $(cat "$T/joinP.err")"
j=$(e A join "$(e V invite "$ID" --role member 2>/dev/null)" 2>"$T/joinA.err") ||
    fail "A join: $(cat "$T/joinA.err")"
wait_for "all three to agree" same_shared "$ID" V P A
[ "$(e P object rules "$ID" --json | py 'd["rules"] is not None')" = True ] ||
    fail "P's node does not hold the object's rules"

e P object stage "$ID" Submitted
wait_for "V and A to see Submitted" same_shared "$ID" V P A
expect_exit 1 e P object stage "$ID" Approved
expect_err 'needs approval "finance"'
e P approve "$ID" --step finance --comment "my own request"
expect_exit 1 e P object stage "$ID" Approved
expect_err 'needs approval "finance"'
expect_exit 1 e P object set "$ID" --set amount_approved=99999
expect_err "amount_approved is written by owner only"
expect_exit 1 e P object stage "$ID" Rejected
expect_err "made by owner"
wait_for "A to see P's approval" decisions_ge A "$ID" 1
wait_for "A's inbox to show the step" has_approvals A 1
[ "$(e A inbox --json | py 'd["approvals"][0]["step"]')" = finance ] ||
    fail "A's inbox: $(e A inbox --json)"
e A inbox | grep -q 'step "finance"' || fail "inbox text: $(e A inbox)"
e A approve "$ID" --comment "budget ok"
wait_for "P to see A's approval" decisions_ge P "$ID" 2
# the approval is an event on the approver's node and on a partner's
for n in A P; do
    e $n events --json --kind approval.given --object "$ID" >"$T/ev$n.json"
    py '[(e["data"]["approval"], e["data"]["decision"], e["org"]) for e in d["events"]]' \
        <"$T/ev$n.json" | grep -q "('finance', 'approved', '$(node_org A)')" ||
        fail "approval.given on $n: $(cat "$T/ev$n.json")"
done
e P object stage "$ID" Approved
wait_for "everyone to show Approved" stage_is V "$ID" Approved
wait_for "all three to agree after the approval" same_shared "$ID" V P A
e V object set "$ID" --set amount_approved=12000
wait_for "P to see the amount" same_shared "$ID" V P A

# ============ (b) an approval concurrent with its approver's removal ==========
ID2=$(e V object create --type mdf_req --set "name=Partner summit")
j=$(e P join "$(e V invite "$ID2" --role member 2>/dev/null)" 2>"$T/joinP2.err") ||
    fail "P join 2: $(cat "$T/joinP2.err")"
j=$(e A join "$(e V invite "$ID2" --role member 2>/dev/null)" 2>"$T/joinA2.err") ||
    fail "A join 2: $(cat "$T/joinA2.err")"
e P object stage "$ID2" Submitted
wait_for "all three to see Submitted" same_shared "$ID2" V P A
wait_for "A and P to know each other" connected_to P "$ORG_A"
NODE_LISTEN_AT[P]=$(node_listen P)
NODE_LISTEN_AT[A]=$(node_listen A)
node_stop P
node_stop A
e V member remove "$ID2" "$ORG_A"
before=$(accepted_from V "$ORG_P")
node_stop V
node_start A
node_start P
wait_for "A and P to reconnect" connected_to P "$ORG_A"
e A approve "$ID2" --step finance --comment "approved before I knew"
wait_for "P to see A's approval" decisions_ge P "$ID2" 1
e P object stage "$ID2" Approved
stage_is P "$ID2" Approved || fail "P does not show its own move"
node_start V
wait_for "V to hold P's move" accepted_more V "$ORG_P" "$before"
wait_for "V to hold A's approval" decisions_ge V "$ID2" 1
wait_for "P to take the removal" stage_is P "$ID2" Submitted
wait_for "V and P to agree" same_shared "$ID2" V P
stage_is V "$ID2" Submitted || fail "V shows the move on a voided approval"
[ "$(e V object rules "$ID2" --json | py '[x["counts"] for x in d["decisions"]]')" = "[False]" ] ||
    fail "the voided approval counts: $(e V object rules "$ID2" --json)"
# P asks again; V approves (owner: role:member or better); P moves
expect_exit 1 e P object stage "$ID2" Approved
e V approve "$ID2" --step finance
wait_for "P to see V's approval" decisions_ge P "$ID2" 2
e P object stage "$ID2" Approved
wait_for "V to show Approved" stage_is V "$ID2" Approved

# ============ (c) rejection, rules view, rules changes =========================
e V reject "$ID" --step finance --reason "receipts missing" >/dev/null
e V events --json --kind approval.given --object "$ID" |
    py '[e["data"]["decision"] for e in d["events"]]' | grep -q "rejected" ||
    fail "a rejection's event"
expect_exit 1 e V reject "$ID" --step finance
expect_err "needs --reason"
e V object rules "$ID" | grep -q 'rejected "finance"' ||
    fail "rules view: $(e V object rules "$ID")"
cat >"$T/open.json" <<'EOF'
{"transitions":[{"from":"*","to":"Draft","who":["any"]}]}
EOF
expect_exit 1 e P object rules "$ID" --set "$T/open.json"
expect_err "only the object's owner changes its rules"
e V object rules "$ID" --set "$T/open.json"
wait_for "P to get the new rules" rules_count P "$ID" 1
e P object stage "$ID" Draft
wait_for "V to show Draft" stage_is V "$ID" Draft
wait_for "all to agree at the end" same_shared "$ID" V P A
e V log --json | py 'd["entries"]' >/dev/null
nodes_stop_all
echo "workflow: ok"
