#!/usr/bin/env bash
# tests/e2e/dealreg.sh - issue 15 point 5 through the CLI of three real
# `entente serve` processes on loopback (spec/workflows.md §9): the vendor
# V owns a program and an opportunity; partners P1 and P2, members of the
# program, register deals of one account and solution with V. V sees the
# conflicts (its opportunity, the earlier registration) in its inbox and in
# `object show`, with the order its own activity log gives; approves one
# with an expiry; a second approval of the account and solution is refused
# naming the first; once the first is ended (its expiry set in the past)
# the second is approved; a rejection carries its reason. P1 approving its
# own registration, and P2 (a member, not the vendor) approving it, are
# refused and change nothing. approval.requested is raised on V. Needs
# $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init dealreg

stage_is() { [ "$(e "$1" object show "$2" --json | py 'd["shared"].get("stage")')" = "$3" ]; }
join() { # join OWNER NODE OBJ
    e "$2" join "$(e "$1" invite "$3" --role member 2>/dev/null)" >/dev/null \
        2>"$T/j.err" || fail "$2 join $3: $(cat "$T/j.err")"
}
register() { # register NODE ACCOUNT DOMAIN SOLUTION
    e "$1" object create --type deal_registration --set "program=$PR" \
        --set "customer_account=$2" --set "account_domain=$3" \
        --set "solution=$4" --set "amount=50000 EUR" --set "close_date=2030-06-30"
}

node_start V
node_start P1
node_start P2

PR=$(e V object create --type program --set "name=Co-sell 2030")
join V P1 "$PR"
join V P2 "$PR"
O=$(e V object create --type opportunity --set "name=Acme renewal" \
    --set "customer_account=ACME Inc.")

R1=$(register P1 "Acme Inc" acme.com "Cloud Backup")
join P1 V "$R1"
join P1 P2 "$R1"
wait_for "V to hold R1" stage_is V "$R1" Submitted
R2=$(register P2 ACME www.acme.com "cloud backup")
join P2 V "$R2"
wait_for "V to hold R2" stage_is V "$R2" Submitted

# hostile: the partner approving its own registration, a non-vendor member
expect_exit 1 e P1 approve "$R1" --expires 2099-12-31
expect_exit 1 e P1 object stage "$R1" Approved
wait_for "P2 to hold R1" stage_is P2 "$R1" Submitted
expect_exit 1 e P2 approve "$R1" --expires 2099-12-31

# V's inbox: both wait, R2 conflicts with R1 (earlier in V's log) and O
e V inbox --json >"$T/inbox.json"
e V object show "$R2" --json >"$T/r2.json"
e P1 object show "$R1" --json >"$T/p1r1.json"
python3 - "$T/inbox.json" "$T/r2.json" "$T/p1r1.json" "$R1" "$R2" "$O" <<'PY' ||
import json, sys
inbox, r2, p1r1 = (json.load(open(f)) for f in sys.argv[1:4])
R1, R2, O = sys.argv[4:7]
regs = {r["object"]: r for r in inbox["registrations"]}
assert set(regs) == {R1, R2}, regs.keys()
c = {x["object"]: x for x in regs[R2]["conflicts"]}
assert c[R1]["score"] == 100 and c[R1]["match"] == "domain", c
assert c[R1]["earlier"] is True and c[R1]["same_solution"] is True, c
assert c[O]["type"] == "opportunity" and c[O]["score"] == 90, c
assert regs[R1]["log_index"] < regs[R2]["log_index"], regs
assert r2["registration"]["conflicts"] == regs[R2]["conflicts"]
assert "registration" not in p1r1, "a partner sees the vendor's view"
assert [a for a in inbox["approvals"] if a["object"] == R1][0]["step"] == "registration"
PY
    fail "inbox/show: $(cat "$T/inbox.json")"
e V inbox | grep -q "^register" || fail "inbox text: $(e V inbox)"
e V object show "$R2" | grep -q "^registration: log entry" ||
    fail "show text: $(e V object show "$R2")"

# one approved, unexpired registration per account and solution
expect_exit 1 e V approve "$R1"
expect_err "--expires"
expect_exit 1 e V approve "$R1" --expires 2099-02-30
expect_err "a valid date"
expect_exit 1 e V approve "$O" --expires 2099-12-31
expect_err "for deal registrations only"
e V approve "$R1" --expires 2099-12-31 --comment "first to register"
wait_for "P1 to see Approved" stage_is P1 "$R1" Approved
expect_exit 1 e V approve "$R2" --expires 2099-12-31
expect_err "registration ${R1:0:12}"
expect_err "at most one approved"
stage_is V "$R2" Submitted || fail "R2 moved"
# V ends R1 (its expiry in the past); R2 is approved
e V object set "$R1" --set expires=2000-01-01
e V approve "$R2" --expires 2099-12-31
wait_for "P2 to see Approved" stage_is P2 "$R2" Approved

# a rejection with its reason
R3=$(register P1 "Acme Inc" acme.com Analytics)
join P1 V "$R3"
wait_for "V to hold R3" stage_is V "$R3" Submitted
expect_exit 1 e V reject "$R3"
e V reject "$R3" --reason "covered by a direct deal"
wait_for "P1 to see Rejected" stage_is P1 "$R3" Rejected
e P1 object rules "$R3" --json |
    py '[x["comment"] for x in d["decisions"] if x["decision"] == "rejected"]' |
    grep -q "covered by a direct deal" || fail "no reason on P1"

# the auditor: V's object exports of R1 and R2, verified offline against
# V's org, each proves the entry at which V first recorded it; R1's is the
# lower (who registered first, by V's signed log and no clock)
VORG=$(e V status --json | py 'd["org"]')
e V audit export --object "$R1" --out "$T/r1.export" >/dev/null
e V audit export --object "$R2" --out "$T/r2.export" >/dev/null
f1=$("$ENTENTE" audit verify "$T/r1.export" --org "$VORG" --json | py 'd["first"]')
f2=$("$ENTENTE" audit verify "$T/r2.export" --org "$VORG" --json | py 'd["first"]')
[ "$f1" -lt "$f2" ] || fail "audit first: R1 $f1, R2 $f2"
[ "$f1" = "$(python3 -c 'import json,sys; print([r["log_index"] for r in json.load(open(sys.argv[1]))["registrations"] if r["object"] == sys.argv[2]][0])' "$T/inbox.json" "$R1")" ] ||
    fail "audit first $f1 is not R1's log_index"
"$ENTENTE" audit verify "$T/r2.export" --org "$VORG" | grep -q "first recorded at entry $f2" ||
    fail "audit verify text lacks the first entry"

# approval.requested on V for each registration that landed on Submitted
n=$(e V events --json --kind approval.requested |
    py 'len([x for x in d["events"] if x["data"]["approval"] == "registration"])')
[ "$n" -ge 3 ] || fail "approval.requested: $n"
nodes_stop_all
echo "dealreg: ok"
