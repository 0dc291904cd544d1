#!/usr/bin/env bash
# tests/e2e/fieldmap.sh - per-org field maps (spec/reports.md "Field maps").
#
# A creates four opportunities and B joins each. B maps its own names onto
# the shared ones (opp_title -> name, area -> region, deal_stage -> stage;
# stages Qualify -> Qualification, Offer -> Proposal) with a canary own
# name and a canary own value. Then: bad maps (an unknown field, two own
# names onto one, a cycle, an overlong name, a value the stage list lacks)
# are refused and store nothing, and a user without the configure right
# may read the map but not set it; A and B run the same report, each in its
# own language (--by, --where, JSON, CSV, text, SVG, cycle-time, a saved
# view), with the same figures; --shared-names prints the shared names; a CRM map of B
# naming its own fields and stages imports and exports in B's language;
# the map never leaves B: after B changed a shared object, neither A's
# database file nor A's outputs, nor B's audit export and events, hold
# B's canary names, while B's database does.
# Loopback only, ports picked at run time. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init fieldmap

node_start A
node_start B
HEX=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
CNAME="canary_$HEX"        # an own field name of B
CVAL="Canary-Stage-$HEX"   # an own stage name of B

mk() { # NAME STAGE REGION
    e A object create --type opportunity --set name="$1" --set region="$3" \
        --set close_date=2026-03-01 --json | py 'd["id"]'
}
IDS=()
IDS+=("$(mk one Qualification EMEA)")
IDS+=("$(mk two Proposal EMEA)")
IDS+=("$(mk three Proposal APAC)")
IDS+=("$(mk four Negotiation APAC)")
STAGES=(Qualification Proposal Proposal Negotiation)
for i in "${!IDS[@]}"; do
    e A object stage "${IDS[$i]}" "${STAGES[$i]}" >/dev/null
    J=$(e B join "$(e A invite "${IDS[$i]}")" 2>/dev/null) || fail "B join ${IDS[$i]}"
    [ "$J" = "${IDS[$i]}" ] || fail "join printed $J"
done

# ---- set and show; bad maps store nothing ----------------------------------
e B fieldmap set opportunity opp_title=name area=region deal_stage=stage \
    "$CNAME=next_step" 'deal_stage:Qualify=Qualification' \
    'stage:Offer=Proposal' "stage:$CVAL=Negotiation" >/dev/null
GOOD=$(e B fieldmap show opportunity --json)
[ "$(echo "$GOOD" | py 'd["fields"]["deal_stage"] + "|" + d["values"]["stage"]["Qualify"]')" = \
  "stage|Qualification" ] || fail "show: $GOOD"
e B fieldmap show | grep -q "deal_stage -> stage" || fail "text show"
bad() { # ERROR-TEXT MAPPING...
    local want=$1
    shift
    expect_exit 1 e B fieldmap set opportunity "$@"
    expect_err "$want"
}
bad "template opportunity has no field nme (did you mean name?)" opp_title=nme
bad "two own names onto one shared name" a_title=name b_title=name
bad "a cycle" name=region region=name
bad "longer than 64 bytes" "$(printf 'x%.0s' {1..70})=name"
bad "not a value of field stage" 'stage:Qualify=Qualifikation'
bad "is already a field of template opportunity" region=industry
expect_exit 2 e B fieldmap set opportunity no_equals_sign
e B user add rep --role rep >/dev/null
TREP=$(e B token create --user rep --expires 1d)
expect_exit 1 e B fieldmap set opportunity x_title=name --token "$TREP"
expect_err "may not configure"
[ "$(e B fieldmap show opportunity --token "$TREP" --json)" = "$GOOD" ] || fail "a user reads the map"
# each refused map differs from the stored one: had one been stored, it shows
[ "$(e B fieldmap show opportunity --json)" = "$GOOD" ] || fail "a refused map changed the stored one"

# ---- the same report in two languages, the same figures ---------------------
RA=$(e A report pipeline --by stage,region --amount none --json)
RB=$(e B report pipeline --by deal_stage,area --amount none --json)
python3 - "$RA" "$RB" "$CVAL" <<'PY' || fail "A and B disagree: $RA / $RB"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert b["by"] == ["deal_stage", "area"], b["by"]
own = {"Qualify": "Qualification", "Offer": "Proposal", sys.argv[3]: "Negotiation"}
keys = [g["key"]["deal_stage"] for g in b["groups"]]
assert "Qualify" in keys and "Offer" in keys and "Proposal" not in keys, keys
def norm(r, s, g):
    return [((own.get(x["key"][s], x["key"][s]), x["key"][g]),
             {k: v for k, v in x.items() if k != "key"}) for x in r["groups"]]
assert norm(a, "stage", "region") == norm(b, "deal_stage", "area")
assert a["total"] == b["total"] and a["objects"] == b["objects"] == 4
PY
[ "$(e B report pipeline --by deal_stage --where 'deal_stage in ("Qualify", "Offer") and area = "EMEA"' --json | py 'd["objects"]')" = 2 ] ||
    fail "--where in B's names"
[ "$(e A report pipeline --where 'stage in ("Qualification", "Proposal") and region = "EMEA"' --json | py 'd["objects"]')" = 2 ] ||
    fail "--where in A's names"
[ "$(e B report pipeline --by stage --where "stage = \"$CVAL\"" --json | py 'd["groups"][0]["key"]["deal_stage"]')" = "$CVAL" ] ||
    fail "shared name in --by, own value in --where"
e B view save mine pipeline --by deal_stage --where 'deal_stage = "Offer"' >/dev/null
[ "$(e B view run mine --json | py 'd["by"][0] + "|" + d["groups"][0]["key"]["deal_stage"] + "|" + str(d["objects"])')" = \
  "deal_stage|Offer|2" ] || fail "a saved view in B's names"
e B report pipeline --by deal_stage | grep -q '^Offer ' || fail "text table"
e B report pipeline --by deal_stage --csv >"$T/b.csv"
head -1 "$T/b.csv" | grep -q '^deal_stage,count' || fail "csv header"
grep -q '^Qualify,' "$T/b.csv" || fail "csv row"
e B report pipeline --by deal_stage --svg "$T/b.svg" >/dev/null
grep -q '>Offer</text>' "$T/b.svg" || fail "svg labels"
e B report cycle-time --json | py '[s["stage"] for s in d["total"]["stages"]]' | grep -q "'Qualify'" ||
    fail "cycle-time stages"
[ "$(e B report pipeline --by stage --shared-names --json | py 'd["by"][0] + "|" + d["groups"][0]["key"]["stage"]')" = \
  "stage|Qualification" ] || fail "--shared-names"

e B object show "${IDS[1]}" --own-names --json >"$T/own.json"
[ "$(py 'd["shared"]["deal_stage"] + "|" + d["shared"]["opp_title"] + "|" + str("stage" in d["shared"])' <"$T/own.json")" = \
  "Offer|two|False" ] || fail "object show --own-names: $(cat "$T/own.json")"
e B object show "${IDS[1]}" --own-names | grep -q "Offer" || fail "object show --own-names (text)"
[ "$(e B object show "${IDS[1]}" --json | py 'd["shared"]["stage"]')" = Proposal ] || fail "object show: shared names"

# ---- CRM files in B's own names ----------------------------------------------
cat >"$T/map.json" <<EOF
{"entente_map": 1, "type": "opportunity", "source": "crm",
 "columns": [{"column": "Id", "field": "crm_id", "external_id": true},
             {"column": "Title", "field": "opp_title"},
             {"column": "Stage", "field": "deal_stage", "values": {"Q": "Qualify"}}]}
EOF
printf 'Id,Title,Stage\r\nX1,New deal,Q\r\nX2,Other deal,Offer\r\n' >"$T/in.csv"
e B import "$T/in.csv" --type opportunity --map "$T/map.json" >/dev/null 2>&1 ||
    fail "import: $(e B import "$T/in.csv" --type opportunity --map "$T/map.json" 2>&1)"
e B export --type opportunity --map "$T/map.json" --out "$T/out.csv" >/dev/null
grep -q '^X1,New deal,Q' "$T/out.csv" || fail "export X1: $(cat "$T/out.csv")"
grep -q '^X2,Other deal,Offer' "$T/out.csv" || fail "export X2: $(cat "$T/out.csv")"
e B export --type opportunity --map "$T/map.json" --where 'deal_stage = "Offer" and opp_title = "Other deal"' \
    --out "$T/where.csv" 2>/dev/null
[ "$(grep -c . "$T/where.csv")" = 2 ] && grep -q '^X2,' "$T/where.csv" || fail "export --where in B's names: $(cat "$T/where.csv")"
[ "$(e B report pipeline --by deal_stage --where 'opp_title = "Other deal"' --json | py 'd["groups"][0]["key"]["deal_stage"]')" = Offer ] ||
    fail "imported stage"
[ "$(e B report pipeline --by stage --shared-names --where 'name = "Other deal"' --json | py 'd["groups"][0]["key"]["stage"]')" = Proposal ] ||
    fail "the object holds the shared stage"

# ---- the map stays on B ----------------------------------------------------
e B object set "${IDS[0]}" --set next_step="call back" >/dev/null
wait_for "A sees B's change" sh -c "\"$ENTENTE\" object show ${IDS[0]} --json --home \"$T/A\" | grep -q 'call back'"
OUTA="$(e A report pipeline --json; e A object show "${IDS[0]}" --json; e A log --json; e A object list --json)"
case "$OUTA" in
*"$HEX"*) fail "B's canary name is in A's outputs" ;;
esac
# what B hands to others: its signed activity log, its events
e B audit export --out "$T/b.audit" >/dev/null
e B events --json >"$T/b.events"
for f in "$T/b.audit" "$T/b.events"; do
    ! grep -qaF "$HEX" "$f" || fail "B's canary names are in $f"
done
nodes_stop_all
for c in "$CNAME" "$CVAL" "opp_title" "deal_stage"; do
    ! grep -qaF "$c" "$T/A/db/data.mdb" || fail "A's database holds $c"
done
grep -qaF "$CNAME" "$T/B/db/data.mdb" || fail "positive control: B's database lacks its own map"
echo "fieldmap: ok"
