#!/usr/bin/env bash
# tests/e2e/reports.sh - reports on real nodes (spec/reports.md).
#
# A creates five opportunities (stages, regions, close dates, a private
# deal size and a private canary note) and B joins each, keeping a deal
# size of its own. Then: both nodes give the same report on every column
# built from shared fields only (pipeline by stage, region, partner and
# close month; cycle-time); a rep user of A with a region policy sees only
# its region's objects, and a report summing a field its policy denies is
# refused with the rule (and given with --amount none); --hide-private
# output (JSON, CSV, text) holds no private value, while the positive
# control shows the canary without it; bad options are refused with their
# position; object list pages with --limit and --after. Loopback only,
# ports picked at run time. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init reports

node_start A
node_start B
CANARY="CANARY-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
DEAL="7777123.45"
B_ORG=$(node_org B)

mk() { # NAME STAGE REGION CLOSE
    e A object create --type opportunity --set name="$1" --set region="$3" \
        --set close_date="$4" --set influenced_by="$B_ORG" \
        --private deal_size="$DEAL EUR" --private internal_notes="$CANARY" \
        --json | py 'd["id"]'
}
IDS=()
IDS+=("$(mk one Qualification EMEA 2026-01-15)")
IDS+=("$(mk two Proposal EMEA 2026-02-20)")
IDS+=("$(mk three 'Closed Won' APAC 2026-02-25)")
IDS+=("$(mk four 'Closed Lost' 'North America' 2026-04-02)")
IDS+=("$(mk five Negotiation APAC 2026-05-30)")
STAGES=(Qualification Proposal 'Closed Won' 'Closed Lost' Negotiation)
for i in "${!IDS[@]}"; do
    e A object stage "${IDS[$i]}" "${STAGES[$i]}" >/dev/null
    # join returns once the object's state (its stage too) has arrived
    J=$(e B join "$(e A invite "${IDS[$i]}")" 2>/dev/null) || fail "B join ${IDS[$i]}"
    [ "$J" = "${IDS[$i]}" ] || fail "join printed $J"
    e B object set "${IDS[$i]}" --private deal_size="$((i + 1))000 USD" >/dev/null
done

# ---- two members agree on shared-only columns ------------------------------
for args in "pipeline --by stage,region,partner,close_date:month --amount none" \
            "cycle-time --by partnered,region" \
            "win-rate --by partner,quarter" \
            "attribution --amount none"; do
    # shellcheck disable=SC2086
    RA=$(e A report $args --json)
    # shellcheck disable=SC2086
    RB=$(e B report $args --json)
    [ "$RA" = "$RB" ] || fail "A and B disagree on '$args':
$RA
$RB"
done
[ "$(e A report pipeline --json | py 'd["objects"]')" = 5 ] || fail "objects"
[ "$(e A report pipeline --by '' --json | py 'd["total"]["won"]')" = 1 ] || fail "won"
# each node sums its own private deal sizes
[ "$(e A report pipeline --by '' --json | py 'd["total"]["amount"][0]["amount"]')" = "38885617.25" ] ||
    fail "A's amount: $(e A report pipeline --by '' --json)"
[ "$(e B report pipeline --by '' --json | py 'd["total"]["amount"][0]["amount"]')" = "15000.00" ] ||
    fail "B's amount"
e A report pipeline --by stage --where 'region = "EMEA"' | grep -q '^Proposal ' || fail "text table"
# the chart's labels may be private values: --svg FILE is written like
# export --out (0600, a symbolic link at FILE replaced, never followed)
printf 'keep\n' >"$T/svg.target"
chmod 644 "$T/svg.target"
ln -s "$T/svg.target" "$T/pipeline.svg"
e A report pipeline --svg "$T/pipeline.svg" >/dev/null
grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' "$T/pipeline.svg" || fail "svg"
grep -q '>Closed Won</text>' "$T/pipeline.svg" || fail "svg labels"
[ "$(cat "$T/svg.target")" = keep ] || fail "--svg wrote through a symbolic link"
[ ! -L "$T/pipeline.svg" ] || fail "--svg kept the symbolic link"
[ "$(stat -c %a "$T/pipeline.svg")" = 600 ] || fail "svg mode $(stat -c %a "$T/pipeline.svg")"
chmod 644 "$T/pipeline.svg"
e A report pipeline --by stage --svg "$T/pipeline.svg" >/dev/null
[ "$(stat -c %a "$T/pipeline.svg")" = 600 ] || fail "svg mode on replace $(stat -c %a "$T/pipeline.svg")"
if ls "$T" | grep -q 'pipeline.svg.tmp'; then fail "--svg left its temporary file"; fi
e A report win-rate --csv | head -1 | grep -q '^partner,quarter,count,won,lost,win_rate' ||
    fail "csv header: $(e A report pipeline --svg "$T/pipeline.svg" >/dev/null
grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' "$T/pipeline.svg" || fail "svg"
grep -q '>Closed Won</text>' "$T/pipeline.svg" || fail "svg labels"
e A report win-rate --csv | head -1)"

# ---- a rep sees its region only; a denied sum is refused -------------------
e A user add rep --role rep --attr region=EMEA >/dev/null
e A policy add 'allow role=rep read opportunity where region=$user.region' >/dev/null
TREP=$(e A token create --user rep --expires 1d)
[ "$(e A report pipeline --token "$TREP" --json | py 'd["objects"]')" = 2 ] ||
    fail "rep sees $(e A report pipeline --token "$TREP" --json)"
e A policy add 'deny role=rep read opportunity.deal_size' >/dev/null
expect_exit 1 e A report pipeline --token "$TREP"
expect_err "may not read opportunity.deal_size (rule 2"
[ "$(e A report pipeline --token "$TREP" --amount none --json | py 'd["objects"]')" = 2 ] ||
    fail "rep with --amount none"
TNOREAD=$(e A token create --user rep --scopes log)
expect_exit 1 e A report pipeline --token "$TNOREAD" --amount none
expect_err "scopes do not include read"

# ---- saved views: limited to a role, run under the caller's policies ------
e A view save emea pipeline --by stage --where 'region = "EMEA"' --roles rep >/dev/null
e A view save all pipeline --by region --amount none >/dev/null
[ "$(e A view list --json | py 'len(d)')" = 2 ] || fail "view list"
[ "$(e A view run all --token "$TREP" --json | py 'd["objects"]')" = 2 ] ||
    fail "a view widened what rep reads"
e A user add fin --role finance >/dev/null
e A policy add 'allow role=finance read opportunity' >/dev/null
TFIN=$(e A token create --user fin)
[ "$(e A view list --token "$TFIN" --json | py '[v["name"] for v in d]')" = "['all']" ] ||
    fail "fin lists a view limited to reps"
expect_exit 1 e A view run emea --token "$TFIN"
expect_err 'no view "emea"'
expect_exit 1 e A view save x pipeline --token "$TREP"
expect_err "may not configure"
e A view remove all >/dev/null
expect_exit 1 e A view run all

# ---- --hide-private: no private value in any form --------------------------
for run in "pipeline --json" "pipeline --csv" "pipeline" "attribution --json" \
           "win-rate --json" "deal-size --csv" "cycle-time --json"; do
    # shellcheck disable=SC2086
    OUTP=$(e A report $run --by internal_notes,stage --hide-private)
    case "$OUTP" in
    *CANARY* | *"$DEAL"* | *7777123*) fail "private value in $run: $OUTP" ;;
    esac
done
e A report pipeline --by internal_notes --json | grep -q "$CANARY" ||
    fail "positive control: the canary is not there without --hide-private"
e A report pipeline --json | grep -q "$DEAL" || fail "positive control: deal"

# ---- bad input ---------------------------------------------------------------
expect_exit 2 e A report nothing
expect_exit 2 e A report pipeline --csv --json
expect_exit 1 e A report pipeline --where 'deal_size > 5'
expect_err "--where: at 11: cannot compare money with number"
expect_exit 1 e A report pipeline --by stag
expect_err "did you mean stage"
expect_exit 1 e A report pipeline --currency USD
expect_err "no exchange rate EUR/USD"
e A config set --new rates EUR/USD=1.1 >/dev/null
[ "$(e A report pipeline --by '' --currency USD --json | py 'd["total"]["amount"][0]["amount"]')" = "42774179.00" ] ||
    fail "converted: $(e A report pipeline --by '' --currency USD --json)"

# ---- derived fields (spec/reports.md "Derived fields") ----------------------
e A template show opportunity --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
t["fields"].append({"name": "weighted", "type": "money",
                    "derived": "deal_size * stage_probability / 100"})
t["fields"].append({"name": "heat", "type": "text", "visibility": "shared",
                    "derived": "if stage_probability >= 50 then \"hot\" else \"cold\""})
t["stage_probability"] = {"Qualification": 20, "Proposal": 60,
                          "Negotiation": 80, "Closed Won": 100, "Closed Lost": 0}
json.dump(t, open(sys.argv[1], "w"))
bad = json.loads(json.dumps(t))
bad["fields"][-1]["derived"] = "if deal_size > 1 EUR then \"big\" else \"small\""
json.dump(bad, open(sys.argv[2], "w"))' "$T/tpl.json" "$T/bad.json"
expect_exit 1 e A template set opportunity "$T/bad.json"
expect_err "field heat: a shared derived field may name only shared fields"
e A template set opportunity "$T/tpl.json" >/dev/null
# IDS[1] is at Proposal (60 %) with 7777123.45 EUR of A's own
[ "$(e A object show "${IDS[1]}" --json |
     py 'd["derived"]["weighted"]["amount"] + " " + d["derived"]["heat"]')" = "4666274.07 hot" ] ||
    fail "derived: $(e A object show "${IDS[1]}" --json)"
e A object show "${IDS[1]}" | grep -q '^derived:' || fail "object show: no derived section"
[ "$(e A object show "${IDS[1]}" --hide-private --json | py 'sorted(d["derived"])')" = "['heat']" ] ||
    fail "hide-private keeps a private formula"
# the rep may not read deal_size: no formula may give it away
[ "$(e A object show "${IDS[1]}" --token "$TREP" --json | py '"derived" in d')" = False ] ||
    fail "a user who may not read a field gets derived values"
expect_exit 1 e A object set "${IDS[1]}" --set heat=cold
expect_err "field heat is derived"
H=$(e A report pipeline --by heat --amount weighted --json)
[ "$(echo "$H" | py '[(g["key"]["heat"], g["count"], g["amount"][0]["amount"]) for g in d["groups"] if g["key"]["heat"] == "hot"][0]')" = "('hot', 3, '18665096.28')" ] ||
    fail "report over formulas: $H"
[ "$(e B object show "${IDS[1]}" --json | py '"derived" in d')" = False ] ||
    fail "B's template has no formulas, but B shows derived values"

# ---- pagination --------------------------------------------------------------
ALL=$(e A object list --json | py '" ".join(r["id"] for r in d)')
P1=$(e A object list --limit 2 --json | py '" ".join(r["id"] for r in d)')
LAST=${P1##* }
P2=$(e A object list --limit 10 --after "$LAST" --json | py '" ".join(r["id"] for r in d)')
[ "$P1 $P2" = "$ALL" ] || fail "pages: '$P1' + '$P2' != '$ALL'"
expect_exit 2 e A object list --after "$LAST" --sort title

nodes_stop_all
echo "reports: ok"
