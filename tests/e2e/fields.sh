#!/usr/bin/env bash
# tests/e2e/fields.sh - what a newcomer types into shared fields, on two
# real nodes: a typo in --set is refused with the nearest known field and
# changes nothing at either node; --custom shares a field on purpose and
# --remove takes it away at every member; the stages of a type are one
# list (the template's) for `object stage` and `--set stage=` alike; and
# the configuration tables have a CLI (`config list|show|set`), with and
# without a running node. Needs $ENTENTE (the binary under test), python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init fields

expect() {
    local want=$1 got=0
    shift
    "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want: $(cat "$T/err")"
}
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }
no_blank_ends() { ! grep -n ' $' "$1" || fail "trailing blank in $1"; }

# ---- configuration tables without a node ---------------------------------
"$ENTENTE" init --name A --listen 127.0.0.1:0 --home "$T/A" >/dev/null
e A config list --json >"$T/tables.json"
[ "$(py '[(t["name"], t["builtin"], t["stored"]) for t in d]' <"$T/tables.json")" = \
    "[('forecast_categories', True, False), ('industries', True, False), ('mdf_activity_types', True, False), ('regions', True, False)]" ] ||
    fail "config list: $(cat "$T/tables.json")"
e A config set regions Nordics DACH Benelux
[ "$(e A config show regions)" = "$(printf 'Nordics\nDACH\nBenelux')" ] || fail "config show regions"
[ "$(e A config get regions --json | py 'd["values"]')" = "['Nordics', 'DACH', 'Benelux']" ] ||
    fail "config get regions"
expect 1 e A config set regions EMEA ""
err_has "entente: config set: invalid values for regions"
[ "$(e A config show regions --json | py 'd["values"]')" = "['Nordics', 'DACH', 'Benelux']" ] ||
    fail "a refused config set changed the table"
expect 1 e A config set stages Discovery Won
err_has "the workflow stages of a type are its template's \"stages\""
expect 2 e A config show colours
err_has "entente: config show: unknown setting or table 'colours'"
# a mistyped name makes no table: a new one takes --new
expect 2 e A config set regoins EMEA
err_has "unknown setting or table 'regoins'"
expect 2 e A config get regoins
e A config set colours Red Green --new
[ "$(e A config show colours --json | py 'd["values"]')" = "['Red', 'Green']" ] || fail "config set --new"
expect 2 e A config set advertise 127.0.0.1:1 --new
expect 2 e A config set Bad-Name x
expect 2 e A config set regions
expect 2 e A config set default_currency EUR USD

# ---- with a running node ---------------------------------------------------
node_start A
node_start B
ORG_B=$(node_org B)
e A config list >"$T/tables.txt"
no_blank_ends "$T/tables.txt"
grep -qE '^regions +stored \(overrides the built-in\) +3 values$' "$T/tables.txt" ||
    fail "config list text: $(cat "$T/tables.txt")"
e A config set industries Software Hardware --json >"$T/ind.json"
[ "$(py '(d["name"], d["values"])' <"$T/ind.json")" = "('industries', ['Software', 'Hardware'])" ] ||
    fail "config set --json: $(cat "$T/ind.json")"

O=$(e A object create --type opportunity --set name="Typo test" --set region=dach)
[ "$(e A object show "$O" --json | py 'd["shared"]["region"]')" = DACH ] || fail "region from the stored table"
[ "$(e B join "$(e A invite "$O" 2>/dev/null)" 2>/dev/null)" = "$O" ] || fail "B join"

# ---- a typo is refused, names the nearest field, changes nothing ----------------
before_a=$(e A object show "$O" --json)
expect 1 e A object set "$O" --set clos_date=2026-03-31 --set next_step=Call
err_has "entente: object set: template opportunity has no field clos_date; did you mean close_date? (to share a new custom field with every member: --custom clos_date=VALUE)"
expect 1 e A object create --type opportunity --set nmae=x
err_has "did you mean name?"
[ "$(e A object list --json | py 'len(d)')" = 1 ] || fail "a refused create made an object"
[ "$before_a" = "$(e A object show "$O" --json)" ] || fail "a refused typo changed A"
expect 1 e A object set "$O" --custom close_date=2026-03-31
err_has "field close_date is in template opportunity, so it is not a custom field"

# ---- --custom shares a field on purpose; --remove takes it away everywhere ------
e A object set "$O" --custom partner_tier=Gold
e A object set "$O" --private partner_tier="our own tier"
[ "$(e A object show "$O" --json | py '(d["shared"]["partner_tier"], d["private"]["partner_tier"])')" = \
    "('Gold', 'our own tier')" ] || fail "custom field, shared and private"
wait_for "B to see the custom field" sh -c \
    "'$ENTENTE' object show '$O' --home '$T/B' --json | grep -q '\"partner_tier\": *\"Gold\"'"
expect 1 e A object set "$O" --remove close_date
err_has "field close_date is in template opportunity and cannot be removed; clear it with --set close_date="
e A object set "$O" --remove partner_tier --json >"$T/rm.json"
[ "$(py 'd["id"]' <"$T/rm.json")" = "$O" ] || fail "remove --json"
e A object show "$O" --json >"$T/a.json"
[ "$(py '"partner_tier" in d["shared"] or "partner_tier" in d["private"]' <"$T/a.json")" = False ] ||
    fail "A still shows the removed field: $(cat "$T/a.json")"
e A object show "$O" >"$T/a.txt"
! grep -q partner_tier "$T/a.txt" || fail "text show lists a removed field"
wait_for "B to lose the removed field" sh -c \
    "! '$ENTENTE' object show '$O' --home '$T/B' --json | grep -q partner_tier"
# a cleared template field still shows, as null
e A object set "$O" --set next_step=
[ "$(e A object show "$O" --json | py 'd["shared"]["next_step"]')" = None ] || fail "cleared field hidden"

# ---- one stage list: the template's, for object stage and --set stage= ---------
e A template show opportunity >"$T/tpl.txt"
no_blank_ends "$T/tpl.txt"
grep -qE '^  stage +enum +shared +label "Stage"; values from the stages; default "Prospecting"$' "$T/tpl.txt" ||
    fail "template show stage: $(cat "$T/tpl.txt")"
grep -qE '^  region +enum +shared +label "Region"; values from table regions$' "$T/tpl.txt" ||
    fail "template show region: $(cat "$T/tpl.txt")"
e A template show opportunity --json |
    py 'json.dumps(dict(d, stages=["Discovery", "Proposal", "Won"], fields=[dict(f, default="Discovery") if f["name"]=="stage" else f for f in d["fields"]]))' \
        >"$T/opp.json"
e A template set opportunity "$T/opp.json"
e A object stage "$O" discovery
[ "$(e A object show "$O" --json | py 'd["shared"]["stage"]')" = Discovery ] || fail "object stage Discovery"
e A object set "$O" --set stage=won
[ "$(e A object show "$O" --json | py 'd["shared"]["stage"]')" = Won ] || fail "--set stage=won"
expect 1 e A object set "$O" --set stage=Negotiation
err_has '"Discovery", "Proposal", "Won"'
expect 1 e A object stage "$O" Negotiation
err_has 'stage "Negotiation" of opportunity is not one of: "Discovery", "Proposal", "Won"'
[ "$(e A object create --type opportunity --set name=New --json | py 'd["id"]' | xargs -I{} "$ENTENTE" object show {} --home "$T/A" --json | py 'd["shared"]["stage"]')" = Discovery ] ||
    fail "the default stage"
# a stage field with a table of its own is refused: there is one list
py 'json.dumps(dict(d, fields=[dict(f, table="stages") if f["name"]=="stage" else f for f in d["fields"]]))' \
    <"$T/opp.json" >"$T/bad.json"
expect 1 e A template set opportunity "$T/bad.json"
err_has "field stage: the workflow stage is an enum whose values are the template's \"stages\""
e A template reset opportunity

nodes_stop_all
echo "fields: ok"
