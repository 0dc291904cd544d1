#!/usr/bin/env bash
# tests/e2e/objects.sh - joint objects and templates through one real
# `entente serve` and the CLI: create, show (with and without private
# fields), set, list, refused changes that change nothing, strict and loose
# templates, template round trip, stage and comment, a batch (one refused
# change, the other applied), and a restart that keeps
# everything. Needs $ENTENTE (the binary under test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lib_init objects
H="$T/home"
CANARY=CANARY-PRIV-8841

e() { "$ENTENTE" "$@" --home "$H"; } # one home: lib's e takes a node name

start_serve() {
    "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0 >>"$T/serve.log" 2>&1 &
    SERVE=$!
    lib_track "$SERVE"
    e status --wait=15s --json >/dev/null 2>&1 || fail "node did not come up"
}

stop_serve() {
    kill -TERM "$SERVE"
    local st=0
    wait "$SERVE" || st=$?
    [ "$st" -eq 0 ] || fail "serve exited $st after SIGTERM"
}

e init --name "Acme Corp" >/dev/null
start_serve

# ---- no daemon needed for usage errors; they exit 2 ---------------------------
expect_exit 2 e object create --set name=x
expect_err "--type is required"
expect_exit 2 e object create --type opportunity --set =x
expect_exit 2 e object create --type opportunity --set noequals
expect_err "FIELD=VALUE"
expect_exit 2 e object set
expect_exit 2 e object frobnicate

# ---- create -----------------------------------------------------------------
ID=$(e object create --type opportunity \
    --set "name=Globex ERP migration" --set customer_account=Globex \
    --set stage=Qualification --set close_date=2026-03-31 \
    --private "deal_size=1200000 EUR" --private forecast_category=Commit \
    --private "internal_notes=$CANARY keep quiet")
[[ "$ID" =~ ^[0-9a-f]{64}$ ]] || fail "object id '$ID' is not 64 lowercase hex"
ID2=$(e object create --type opportunity --set name=Second --json | py 'd["id"]')
[[ "$ID2" =~ ^[0-9a-f]{64}$ ]] && [ "$ID2" != "$ID" ] || fail "create --json: '$ID2'"
[ "$(e status --json | py 'd["objects"]')" = 2 ] || fail "status does not count 2 objects"

e object show "$ID" --json >"$T/show.json"
py 'd["id"]' <"$T/show.json" | grep -qx "$ID" || fail "show: id"
[ "$(py 'd["type"]' <"$T/show.json")" = opportunity ] || fail "show: type"
[ "$(py 'd["epoch"]' <"$T/show.json")" = 0 ] || fail "show: epoch"
[ "$(py '[(m["name"],m["role"]) for m in d["members"]]' <"$T/show.json")" = "[('Acme Corp', 'owner')]" ] ||
    fail "show: members $(cat "$T/show.json")"
[ "$(py 'sorted(d["shared"])' <"$T/show.json")" = "['close_date', 'customer_account', 'name', 'stage']" ] ||
    fail "show: shared keys $(cat "$T/show.json")"
[ "$(py 'd["shared"]["close_date"]' <"$T/show.json")" = 2026-03-31 ] || fail "show: close_date"
[ "$(py 'd["shared"]["stage"]' <"$T/show.json")" = Qualification ] || fail "show: stage"
[ "$(py 'sorted(d["private"])' <"$T/show.json")" = "['deal_size', 'forecast_category', 'internal_notes']" ] ||
    fail "show: private keys $(cat "$T/show.json")"
[ "$(py 'd["private"]["deal_size"]' <"$T/show.json")" = "{'amount': '1200000.00', 'currency': 'EUR', 'minor': 120000000}" ] ||
    fail "show: money JSON $(py 'd["private"]["deal_size"]' <"$T/show.json")"
[ "$(py 'd["private"]["forecast_category"]' <"$T/show.json")" = Commit ] || fail "show: forecast"
py 'd["private"]["internal_notes"]' <"$T/show.json" | grep -qF "$CANARY" || fail "show: canary missing"
py '"deal_size" in d["shared"] or "internal_notes" in d["shared"]' <"$T/show.json" | grep -qx False ||
    fail "private field in shared section"

# human form has both sections
e object show "$ID" >"$T/show.txt"
grep -q '^shared:' "$T/show.txt" && grep -q '^private:' "$T/show.txt" || fail "human show sections"
grep -q 'deal_size.*1200000.00 EUR' "$T/show.txt" || fail "human show money"

# --hide-private: no private section, the canary nowhere
e object show "$ID" --json --hide-private >"$T/hidden.json"
py '"private" in d' <"$T/hidden.json" | grep -qx False || fail "--hide-private kept the private key"
! grep -qF "$CANARY" "$T/hidden.json" || fail "canary in --hide-private --json output"
! grep -q 1200000 "$T/hidden.json" || fail "deal size in --hide-private output"
e object show "$ID" --hide-private >"$T/hidden.txt"
! grep -q '^private:' "$T/hidden.txt" || fail "human --hide-private has a private section"
! grep -qF "$CANARY" "$T/hidden.txt" || fail "canary in --hide-private output"

# ---- set ----------------------------------------------------------------------
e object set "$ID" --set close_date=2026-06-30 --private "deal_size=1500000.50 EUR"
e object show "$ID" --json >"$T/show2.json"
[ "$(py 'd["shared"]["close_date"]' <"$T/show2.json")" = 2026-06-30 ] || fail "set: close_date"
[ "$(py 'd["private"]["deal_size"]["minor"]' <"$T/show2.json")" = 150000050 ] || fail "set: deal_size"
[ "$(py 'd["shared"]["name"]' <"$T/show2.json")" = "Globex ERP migration" ] || fail "set touched name"

# ---- list ---------------------------------------------------------------------
e object list --json >"$T/list.json"
py '[o["id"] for o in d]' <"$T/list.json" | grep -qF "$ID" || fail "list lacks the object"
[ "$(py 'len(d)' <"$T/list.json")" = 2 ] || fail "list: want 2 objects"
[ "$(e object list --type opportunity --json | py 'len(d)')" = 2 ] || fail "list --type opportunity"
[ "$(e object list --type lead --json)" = "[]" ] || fail "list --type lead is not empty"
e object list | grep -qE "^${ID:0:12} +opportunity " || fail "human list: $(e object list)"

# ---- refused changes change nothing -----------------------------------------------
before=$(e object show "$ID" --json)
expect_exit 1 e object set "$ID" --set close_date=2026-02-30
expect_err "entente: object set: "
expect_err "close_date"
expect_exit 1 e object set "$ID" --private "deal_size=100 XYZ"
expect_err "currency"
expect_exit 1 e object set "$ID" --set deal_size=5
expect_err "deal_size is private"
# one bad value among good ones: nothing of it lands
expect_exit 1 e object set "$ID" --set "name=Changed" --set close_date=soon
expect_exit 1 e object set "$ID" --set stage=NoSuchStage
expect_exit 1 e object create --type nosuchtype --set name=x
expect_exit 1 e object create --type opportunity --set close_date=31/03/2026
expect_exit 1 e object show 0000000000000000000000000000000000000000000000000000000000000000
expect_err "no such object"
expect_exit 1 e object set 0000000000000000000000000000000000000000000000000000000000000000 --set name=x
expect_exit 1 e object show not-an-id
expect_err "invalid object id"
after=$(e object show "$ID" --json)
[ "$before" = "$after" ] || fail "a refused change changed the object: $before -> $after"
[ "$(e object list --json | py 'len(d)')" = 2 ] || fail "a refused create created something"

# upper-case ids are accepted by the CLI and shown in lower case
UP=$(echo "$ID" | tr a-f A-F)
[ "$(e object show "$UP" --json | py 'd["id"]')" = "$ID" ] || fail "upper-case id"

# ---- stage and comment ----------------------------------------------------------
e object stage "$ID" proposal
[ "$(e object show "$ID" --json | py 'd["shared"]["stage"]')" = Proposal ] || fail "stage"
expect_exit 1 e object stage "$ID" Bogus
e object comment "$ID" "call Globex on Monday"
e object show "$ID" --json | py '[c["text"] for c in d["comments"]]' | grep -qF "call Globex on Monday" ||
    fail "comment"
# a comment's author by name, its time in RFC 3339 (text: the local date)
e object show "$ID" --json >"$T/cm.json"
py '[(c["name"], len(c["time"]), c["time"][10], c["time"][-1], "hlc" in c) for c in d["comments"]]' <"$T/cm.json" |
    grep -qx "\[('Acme Corp', 24, 'T', 'Z', False)\]" || fail "comment JSON: $(cat "$T/cm.json")"
TZ=UTC e object show "$ID" | grep -qE '^  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  Acme Corp: call Globex on Monday$' ||
    fail "comment text: $(TZ=UTC e object show "$ID")"
# a tab in a value or comment (allowed text) shows as \t, on one line
e object comment "$ID" "$(printf 'tab\there')"
e object set "$ID" --set "next_step=$(printf 'a\tb')"
e object show "$ID" >"$T/tab.txt"
grep -qF 'Acme Corp: tab\there' "$T/tab.txt" || fail "comment tab: $(cat "$T/tab.txt")"
grep -qE '^  next_step +a\\tb$' "$T/tab.txt" || fail "value tab: $(cat "$T/tab.txt")"
! grep -q "$(printf '\t')" "$T/tab.txt" || fail "a raw tab in show output"
! grep -q ' $' "$T/tab.txt" || fail "trailing blank in show output"

# ---- templates ------------------------------------------------------------------
e template list --json >"$T/tpl.json"
py '[t["type"] for t in d]' <"$T/tpl.json" | grep -q "'opportunity'" || fail "template list"
[ "$(py '[t for t in d if t["type"]=="opportunity"][0]["stored"]' <"$T/tpl.json")" = False ] ||
    fail "opportunity stored before any template set"
e template show opportunity --json >"$T/opp.json"
[ "$(py 'd["type"]' <"$T/opp.json")" = opportunity ] || fail "template show"
# round trip: show --json -> set -> show --json is identical
e template set opportunity "$T/opp.json"
e template show opportunity --json >"$T/opp2.json"
cmp -s "$T/opp.json" "$T/opp2.json" || fail "template round trip differs"
[ "$(e template list --json | py '[t for t in d if t["type"]=="opportunity"][0]["stored"]')" = True ] ||
    fail "template not stored"

# strict: an unknown field is refused and changes nothing
py 'json.dumps(dict(d, strict=True))' <"$T/opp.json" >"$T/strict.json"
e template set opportunity - <"$T/strict.json"
[ "$(e template show opportunity --json | py 'd.get("strict")')" = True ] || fail "strict not stored"
before=$(e object show "$ID" --json)
expect_exit 1 e object set "$ID" --custom partner_tier=gold
expect_err "template opportunity is strict and has no field partner_tier"
[ "$before" = "$(e object show "$ID" --json)" ] || fail "strict refusal changed the object"
# loose again: --set still refuses an unknown field (a typo is never
# shared), --custom takes it as a custom shared text field
e template set opportunity - <"$T/opp.json"
expect_exit 1 e object set "$ID" --set partner_tier=gold
expect_err "template opportunity has no field partner_tier (to share a new custom field with every member: --custom partner_tier=VALUE)"
[ "$before" = "$(e object show "$ID" --json)" ] || fail "an unknown --set field changed the object"
e object set "$ID" --custom partner_tier=gold
[ "$(e object show "$ID" --json | py 'd["shared"]["partner_tier"]')" = gold ] || fail "custom field"

# a bad template, a type mismatch, and bad JSON are refused
echo '{"type":"lead","fields":[]}' >"$T/lead.json"
expect_exit 1 e template set opportunity "$T/lead.json"
expect_err "does not match"
echo '{"type":"opportunity","fields":[{"name":"x","type":"nosuchtype"}]}' >"$T/bad.json"
expect_exit 1 e template set opportunity "$T/bad.json"
echo '{not json' >"$T/notjson.json"
expect_exit 1 e template set opportunity "$T/notjson.json"
expect_err "not valid JSON"
expect_exit 1 e template set opportunity "$T/missing.json"
cmp -s "$T/opp.json" <(e template show opportunity --json) || fail "a refused template set changed it"
expect_exit 1 e template show nosuchtype

# ---- changing a template never rewrites or loses existing data ------------------
e object set "$ID" --set next_step="Workshop on 2027-01-15" --set close_date=2027-02-28
keep=$(e object show "$ID" --json)
[ "$(echo "$keep" | py 'd["shared"]["next_step"]')" = "Workshop on 2027-01-15" ] || fail "next_step not set"
# drop next_step from the template and turn close_date into a text field
py 'json.dumps(dict(d, fields=[dict(f, type="text") if f["name"]=="close_date" else f for f in d["fields"] if f["name"]!="next_step"]))' <"$T/opp.json" >"$T/opp-changed.json"
e template set opportunity "$T/opp-changed.json"
[ "$keep" = "$(e object show "$ID" --json)" ] || fail "a template change rewrote stored fields"
# new writes follow the new template: close_date now takes free text
e object set "$ID" --set close_date="end of Q2"
[ "$(e object show "$ID" --json | py 'd["shared"]["close_date"]')" = "end of Q2" ] || fail "new template not applied to new writes"
[ "$(e object show "$ID" --json | py 'd["shared"]["next_step"]')" = "Workshop on 2027-01-15" ] || fail "field dropped from the template was lost"
e template set opportunity "$T/opp.json"

# ---- batch: per-change results; a refused change undoes nothing else -----------
printf '{"changes":[{"op":"create","type":"opportunity","set":{"name":"Batch"}},{"op":"set","id":"%064d","set":{"name":"x"}}]}' 7 >"$T/batch.json"
expect_exit 1 e object batch "$T/batch.json"
expect_err "change 1 404: ENT_ENOENT"
grep -qE '^0 201 [0-9a-f]{64}$' "$T/out" || fail "batch: no created id: $(cat "$T/out")"
BATCH_ID=$(cut -d' ' -f3 "$T/out")

# ---- restart: everything is still there -----------------------------------------
final=$(e object show "$ID" --json)
list=$(e object list --json)
stop_serve
expect_exit 1 e object show "$ID"
expect_err "no node is running"
start_serve
[ "$final" = "$(e object show "$ID" --json)" ] || fail "object changed across a restart"
[ "$list" = "$(e object list --json)" ] || fail "list changed across a restart"
echo "$list" | grep -qF "$BATCH_ID" || fail "the batch's object is not listed"
e object set "$ID" --set next_step="send the proposal"
[ "$(e object show "$ID" --json | py 'd["shared"]["next_step"]')" = "send the proposal" ] ||
    fail "set after restart"
stop_serve
echo "objects: ok"
