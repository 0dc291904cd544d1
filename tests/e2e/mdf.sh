#!/usr/bin/env bash
# tests/e2e/mdf.sh - issue 15 points 4 and 6 through the CLI of two real
# `entente serve` processes on loopback (spec/workflows.md §8,
# spec/objects.md "Links"): the vendor V owns an MDF budget, the partner P
# (a member of it) files a fund request that links it and adds V. Over the
# limit approvals and claims are refused with the reason; the request goes
# from Submitted to Paid (a signed claim approval by V on the way); `report
# mdf` gives the same figures on both nodes, complete on V only. P converts
# a lead into an opportunity linked to a sales plan, and `report plan`
# shows the plan's progress. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init mdf

stage_is() { [ "$(e "$1" object show "$2" --json | py 'd["shared"].get("stage")')" = "$3" ]; }

node_start V
node_start P

B=$(e V object create --type mdf_budget --set "name=FY27 EMEA co-marketing" \
    --set "amount=1000 EUR")
e P join "$(e V invite "$B" --role member 2>/dev/null)" >/dev/null 2>"$T/j1.err" ||
    fail "P join budget: $(cat "$T/j1.err")"
R=$(e P object create --type mdf_request --set "name=Q3 roadshow" \
    --set "budget=$B" --set "amount_requested=600 EUR")
e V join "$(e P invite "$R" --role member 2>/dev/null)" >/dev/null 2>"$T/j2.err" ||
    fail "V join request: $(cat "$T/j2.err")"
e P object stage "$R" Submitted
# P may not approve its own request
expect_exit 1 e P object set "$R" --set "amount_approved=600 EUR"
expect_err "amount_approved is written by org:"
wait_for "V to see Submitted" stage_is V "$R" Submitted
# V may not approve more than was requested, nor more than is left
expect_exit 1 e V object set "$R" --set "amount_approved=700 EUR"
expect_err "more than amount_requested"
e V object set "$R" --set "amount_approved=500 EUR"
e V object stage "$R" Approved
wait_for "P to see Approved" stage_is P "$R" Approved
expect_exit 1 e P object set "$R" --set "amount_claimed=550 EUR"
expect_err "amount_claimed is more than amount_approved"
e P object set "$R" --set "amount_claimed=450 EUR" \
    --set "proof_of_performance=roadshow-photos.zip, attendees.csv"
e P object stage "$R" Claimed
wait_for "V to see the claim" stage_is V "$R" Claimed
[ "$(e V inbox --json | py '[(c["object"], c["claimed"]["minor"]) for c in d["claims"]]')" = "[('$R', 45000)]" ] ||
    fail "V's inbox does not show the claim: $(e V inbox --json)"
expect_exit 1 e V object stage "$R" "Claim Approved"
expect_err 'needs approval "claim"'
e V approve "$R" --step claim --comment "proof checked"
e V object stage "$R" "Claim Approved"
e V object stage "$R" Paid
wait_for "P to see Paid" stage_is P "$R" Paid

# the figures, computed on each node from what it holds
e V report mdf --json >"$T/mv.json"
e P report mdf --json >"$T/mp.json"
python3 - "$T/mv.json" "$T/mp.json" <<'EOF' || fail "report mdf: $(cat "$T/mv.json")"
import json, sys
v, p = (json.load(open(f)) for f in sys.argv[1:3])
def m(rep, k):
    return [(x["currency"], x["minor"]) for x in rep["total"][k]]
for rep in (v, p):
    assert m(rep, "requested") == [("EUR", 60000)], rep["total"]
    assert m(rep, "approved") == [("EUR", 50000)], rep["total"]
    assert m(rep, "claimed") == [("EUR", 45000)], rep["total"]
    assert m(rep, "paid") == [("EUR", 45000)], rep["total"]
    assert m(rep, "left") == [("EUR", 50000)], rep["total"]
    assert rep["groups"][0]["key"]["partner"], rep["groups"]
assert v["complete"] is True and p["complete"] is False
assert [g["key"] for g in v["groups"]] == [g["key"] for g in p["groups"]]
EOF

# a lead converted into an opportunity of a sales plan; the plan's progress
PL=$(e P object create --type sales_plan --set "name=EMEA joint plan" \
    --set "joint_target=2000 EUR")
L=$(e P object create --type lead --set company=Acme --set region=EMEA \
    --private "estimated_value=1500 EUR")
O=$(e P object convert "$L" --to opportunity)
e P object set "$O" --set "plan=$PL" --set "stage=Closed Won"
e P object show "$L" --json >"$T/lead.json"
e P report plan --json >"$T/plan.json"
python3 - "$T/lead.json" "$T/plan.json" "$O" "$L" <<'EOF' || fail "convert/plan: $(cat "$T/plan.json")"
import json, sys
lead, plan = (json.load(open(f)) for f in sys.argv[1:3])
o, l = sys.argv[3], sys.argv[4]
assert lead["shared"]["converted_to"] == o and lead["shared"]["stage"] == "Converted"
assert lead["links"]["converted_to"]["type"] == "opportunity"
g = plan["groups"][0]
assert g["key"]["plan"] == "EMEA joint plan", g
assert g["won"] == 1 and g["won_amount"][0]["minor"] == 150000, g
assert g["progress"] == "0.7500", g
EOF
nodes_stop_all
echo "mdf: ok"
