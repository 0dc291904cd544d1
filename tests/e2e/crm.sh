#!/usr/bin/env bash
# tests/e2e/crm.sh - CRM sync on two real nodes (spec/crm.md): a dry run
# changes nothing; a Salesforce Opportunity export is imported through
# A's node with the shipped map; a partner joins one object and sees its
# shared fields only (the private description, amount and external id are
# canaries: never in B's database); importing the file again makes no op;
# a changed shared cell makes exactly one op, which reaches the partner;
# the export of A's objects imports back with no change; --since writes
# only what changed; a broken file imports nothing, with file, line and
# column; bad rows and duplicate ids go to --rejects whole.
# Needs $ENTENTE (the binary under test), python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init crm
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAP=$ROOT/node/crm/maps/salesforce_opportunity.json
CANARY=CANARY-crm-7f3a9c
EXTID=0065e00000AbCdE1
sed "s/Renewal with expansion to EMEA\./$CANARY renewal./" \
    "$ROOT/tests/fixtures/crm/salesforce_opportunities.csv" >"$T/deals.csv"
imp() { e A import "$@" --type opportunity --map "$MAP" --json; }
counts() { py '(d["created"], d["updated"], d["unchanged"], d["rejected"], d["ops"])' <"$T/out"; }

node_start A
node_start B

# ---- a dry run, then the import ----------------------------------------------
expect_exit 0 imp "$T/deals.csv" --dry-run
[ "$(counts)" = "(5, 0, 0, 0, 0)" ] || fail "dry run: $(cat "$T/out")"
expect_exit 0 imp "$T/deals.csv"
[ "$(counts)" = "(5, 0, 0, 0, 5)" ] || fail "import: $(cat "$T/out") (a dry run changed something?)"
O=$(e A object list --type opportunity --json |
    py '[o["id"] for o in d if o["title"] == "Northwind - Data Platform Renewal"][0]')
e A object show "$O" --json >"$T/a.json"
[ "$(py '(d["shared"]["stage"], d["shared"]["close_date"], d["private"]["deal_size"]["amount"], d["private"]["salesforce_id"])' <"$T/a.json")" = \
    "('Negotiation', '2027-06-30', '1250000.00', '$EXTID')" ] || fail "values: $(cat "$T/a.json")"

# ---- the partner sees shared fields only -------------------------------------
[ "$(e B join "$(e A invite "$O" 2>/dev/null)" 2>/dev/null)" = "$O" ] || fail "B join"
e B object show "$O" --json >"$T/b.json"
[ "$(py '(d["shared"]["name"], d["shared"]["stage"], d["private"])' <"$T/b.json")" = \
    "('Northwind - Data Platform Renewal', 'Negotiation', {})" ] || fail "B sees: $(cat "$T/b.json")"
grep -q -e "$CANARY" -e "$EXTID" -e deal_size "$T/b.json" && fail "a private value reached B's view"

# ---- the same file again: nothing changes; one changed cell: one op ------------
expect_exit 0 imp "$T/deals.csv"
[ "$(counts)" = "(0, 0, 5, 0, 0)" ] || fail "re-import: $(cat "$T/out")"
e A export --type opportunity --map "$MAP" --out "$T/export.csv" 2>"$T/export.err"
CUR=$(sed -n 's/.*next --since //p' "$T/export.err")
[ -n "$CUR" ] || fail "export: no cursor: $(cat "$T/export.err")"
# the export imports back with no change (round trip)
expect_exit 0 imp "$T/export.csv"
[ "$(counts)" = "(0, 0, 5, 0, 0)" ] || fail "export round trip: $(cat "$T/out")"
sed -i 's/Legal review of MSA/Signature by Friday/' "$T/deals.csv"
expect_exit 0 imp "$T/deals.csv"
[ "$(counts)" = "(0, 1, 4, 0, 1)" ] || fail "one change: $(cat "$T/out")"
WAIT_SECONDS=15
wait_for "B sees the new next step" \
    sh -c "'$ENTENTE' object show '$O' --json --home '$T/B' | grep -q 'Signature by Friday'"
# --since: only the changed object
e A export --type opportunity --map "$MAP" --since "$CUR" >"$T/since.csv" 2>/dev/null
[ "$(wc -l <"$T/since.csv")" = 2 ] && grep -q "Signature by Friday" "$T/since.csv" ||
    fail "export --since: $(cat "$T/since.csv")"

# ---- bad input ---------------------------------------------------------------
# a broken file imports nothing and says where
{ head -n 3 "$T/deals.csv"; printf '0065X,"open quote,x\r\n'; } >"$T/broken.csv"
expect_exit 1 imp "$T/broken.csv"
expect_err "broken.csv: line 4, column 2: the file ends inside a quoted cell"  # row 1 spans lines 2-3
expect_err "(nothing imported)"
# bad rows and duplicate ids are rejected whole; the others go in
python3 - "$T/deals.csv" "$T/bad.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
h = rows[0]
new = [list(r) for r in rows[1:3]]
for r, i in zip(new, ("0065N1", "0065N2")):
    r[h.index("Opportunity ID")] = i
new[0][h.index("Close Date")] = "31/12/2027"          # not MM/DD/YYYY
new[1][h.index("Opportunity Name")] = "Fresh deal"
dup = list(new[1]); dup[h.index("Stage")] = "Closed Won"  # same id twice
ok = list(rows[3]); ok[h.index("Opportunity ID")] = "0065N3"; ok[h.index("Opportunity Name")] = "Good row"
csv.writer(open(sys.argv[2], "w", newline="")).writerows([h, new[0], new[1], dup, ok])
EOF
expect_exit 1 imp "$T/bad.csv" --rejects "$T/rejects.csv"
[ "$(counts)" = "(1, 0, 0, 3, 1)" ] || fail "bad rows: $(cat "$T/out")"
python3 - "$T/rejects.csv" <<'EOF' || fail "rejects file: $(cat "$T/rejects.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["line", "reason"], rows[0]
got = {r[0]: r[1] for r in rows[1:]}
assert set(got) == {"2", "4", "5"}, got  # row 1 spans lines 2-3
assert "line 2, column 10 (Close Date): \"31/12/2027\" is not a date in the format MM/DD/YYYY" in got["2"], got
assert "external id \"0065N2\" also on line 5" in got["4"] and "also on line 4" in got["5"], got
EOF

nodes_stop_all
db_has B "$(printf %s "$CANARY" | od -An -tx1 | tr -d ' \n')" \
    "$(printf %s "$EXTID" | od -An -tx1 | tr -d ' \n')" &&
    fail "a private value is in B's database"
echo "ok crm"
