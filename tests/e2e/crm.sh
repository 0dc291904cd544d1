#!/usr/bin/env bash
# tests/e2e/crm.sh - CRM sync on two real nodes (spec/crm.md): a dry run
# changes nothing; a Salesforce Opportunity export is imported through
# A's node with the shipped map; a partner joins one object and sees its
# shared fields only (the private description, amount and external id are
# canaries: never in B's database); importing the file again makes no op;
# a changed shared cell makes exactly one op, which reaches the partner,
# and the operator's webhook delivery of it carries the external id;
# the export of A's objects imports back with no change; --since writes
# only what changed; a broken file imports nothing, with file, line and
# column; bad rows and duplicate ids go to --rejects whole. --out and
# --rejects files are 0600, replaced only by a run that ends (a failed
# export leaves --out as it was), and --rejects may not name the CSV or
# the map.
# Needs $ENTENTE (the binary under test), python3 (the webhook receiver;
# answers are checked with sed and grep: a python start costs more than an
# import on a loaded machine).
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
# counts: the summary of the last import (--json) as (created, updated,
# unchanged, rejected, ops), read with sed: a python start costs more than
# an import here
counts() {
    sed -E 's/.*"created":([0-9]+),"updated":([0-9]+),"unchanged":([0-9]+),"rejected":([0-9]+),"ops":([0-9]+).*/(\1, \2, \3, \4, \5)/' "$T/out"
}

node_start A
node_start B

# ---- a dry run, then the import ----------------------------------------------
expect_exit 0 imp "$T/deals.csv" --dry-run
[ "$(counts)" = "(5, 0, 0, 0, 0)" ] || fail "dry run: $(cat "$T/out")"
expect_exit 0 imp "$T/deals.csv"
[ "$(counts)" = "(5, 0, 0, 0, 5)" ] || fail "import: $(cat "$T/out") (a dry run changed something?)"
O=$(e A object list --type opportunity --json |
    sed -E 's/.*"id":"([0-9a-f]{64})"[^}]*"title":"Northwind - Data Platform Renewal".*/\1/')
[ ${#O} = 64 ] || fail "no Northwind object: $O"
# (the values themselves: tests/crm_import_test.c, every shipped map)

# ---- the partner sees shared fields only -------------------------------------
[ "$(e B join "$(e A invite "$O" 2>/dev/null)" 2>/dev/null)" = "$O" ] || fail "B join"
e B object show "$O" --json >"$T/b.json"
for want in '"name":"Northwind - Data Platform Renewal"' '"stage":"Negotiation"' '"private":{}'; do
    grep -qF "$want" "$T/b.json" || fail "B sees: $(cat "$T/b.json") (no $want)"
done
grep -q -e "$CANARY" -e "$EXTID" -e deal_size "$T/b.json" && fail "a private value reached B's view"

# ---- the same file again: nothing changes; one changed cell: one op ------------
expect_exit 0 imp "$T/deals.csv"
[ "$(counts)" = "(0, 0, 5, 0, 0)" ] || fail "re-import: $(cat "$T/out")"
e A export --type opportunity --map "$MAP" --out "$T/export.csv" 2>"$T/export.err"
CUR=$(sed -n 's/.*next --since //p' "$T/export.err")
[ -n "$CUR" ] || fail "export: no cursor: $(cat "$T/export.err")"
# the file holds private values: 0600, like an audit export
[ "$(stat -c %a "$T/export.csv")" = 600 ] || fail "export mode $(stat -c %a "$T/export.csv")"
# an export that fails (here a bad --where, refused by the node after the
# file was opened) leaves the user's file as it was, and no temporary file
cp "$T/export.csv" "$T/export.keep"
expect_exit 1 e A export --type opportunity --map "$MAP" --where 'stage =' --out "$T/export.csv"
expect_err "--where"
cmp -s "$T/export.csv" "$T/export.keep" || fail "a failed export clobbered its --out file: $(cat "$T/export.csv")"
ls "$T"/export.csv.tmp* >/dev/null 2>&1 && fail "a failed export left a temporary file"
# the export imports back with no change (round trip)
expect_exit 0 imp "$T/export.csv"
[ "$(counts)" = "(0, 0, 5, 0, 0)" ] || fail "export round trip: $(cat "$T/out")"
# the operator's webhook carries the external id (spec/crm.md §7)
cat >"$T/recv.py" <<'PY'
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
python3 "$T/recv.py" "$T/port" "$T/hooks.log" &
lib_track $!
WAIT_SECONDS=15
wait_for "the receiver" test -s "$T/port"
e A webhook add "http://127.0.0.1:$(cat "$T/port")/crm" --events fields.changed >/dev/null
sed -i 's/Legal review of MSA/Signature by Friday/' "$T/deals.csv"
expect_exit 0 imp "$T/deals.csv"
[ "$(counts)" = "(0, 1, 4, 0, 1)" ] || fail "one change: $(cat "$T/out")"
wait_for "B sees the new next step" \
    sh -c "'$ENTENTE' object show '$O' --json --home '$T/B' | grep -q 'Signature by Friday'"
wait_for "the webhook with the external id" grep -q "Signature by Friday" "$T/hooks.log"
grep "Signature by Friday" "$T/hooks.log" >"$T/hook.json"
for want in '"kind":"fields.changed"' "\"external_ids\":{\"salesforce\":\"$EXTID\"}" \
    '"next_step":"Signature by Friday"'; do
    grep -qF "$want" "$T/hook.json" || fail "webhook body: $(cat "$T/hook.json") (no $want)"
done
# --since: only the changed object
e A export --type opportunity --map "$MAP" --since "$CUR" >"$T/since.csv" 2>/dev/null
[ "$(wc -l <"$T/since.csv")" = 2 ] && grep -q "Signature by Friday" "$T/since.csv" ||
    fail "export --since: $(cat "$T/since.csv")"

# a file of a header and no row (a CRM export with nothing in it) imports
# nothing, without an error
head -n 1 "$T/deals.csv" >"$T/header_only.csv"
expect_exit 0 imp "$T/header_only.csv"
[ "$(counts)" = "(0, 0, 0, 0, 0)" ] || fail "header only: $(cat "$T/out")"

# ---- bad input ---------------------------------------------------------------
# a broken file imports nothing and says where
{ head -n 3 "$T/deals.csv"; printf '0065X,"open quote,x\r\n'; } >"$T/broken.csv"
expect_exit 1 imp "$T/broken.csv"
expect_err "broken.csv: line 4, column 2: the file ends inside a quoted cell"  # row 1 spans lines 2-3
expect_err "(nothing imported)"
# bad rows and duplicate ids are rejected whole; the others go in
# (the first row spans lines 2-3: its description holds a newline)
{
    head -n 1 "$T/deals.csv"
    printf '%s\r\n' \
        $'Rep,Acme,Deal N1,Prospecting,Q3,"1,000.00",USD,10,1,31/12/2027,01/01/2027,x,Web,New,Pipeline,Retail,,"two\nlines",0065N1' \
        'Rep,Acme,Fresh deal,Prospecting,Q3,"2,000.00",USD,10,1,12/31/2027,01/01/2027,x,Web,New,Pipeline,Retail,,,0065N2' \
        'Rep,Acme,Fresh deal,Closed Won,Q3,"2,000.00",USD,10,1,12/31/2027,01/01/2027,x,Web,New,Pipeline,Retail,,,0065N2' \
        'Rep,Acme,Good row,Prospecting,Q3,"3,000.00",USD,10,1,12/31/2027,01/01/2027,x,Web,New,Pipeline,Retail,,,0065N3'
} >"$T/bad.csv"
# --rejects naming the CSV itself (or the map) is refused before anything
# is read or written: it would replace the file being imported
cp "$T/bad.csv" "$T/bad.keep"
expect_exit 2 imp "$T/bad.csv" --rejects "$T/bad.csv"
expect_err "is the CSV file being imported"
cmp -s "$T/bad.csv" "$T/bad.keep" || fail "--rejects overwrote the CSV being imported"
cp "$MAP" "$T/map.json"
expect_exit 2 e A import "$T/bad.csv" --type opportunity --map "$T/map.json" --rejects "$T/map.json"
expect_err "is the map being imported"
cmp -s "$T/map.json" "$MAP" || fail "--rejects overwrote the map"
expect_exit 1 imp "$T/bad.csv" --rejects "$T/rejects.csv"
[ "$(counts)" = "(1, 0, 0, 3, 1)" ] || fail "bad rows: $(cat "$T/out")"
[ "$(stat -c %a "$T/rejects.csv")" = 600 ] || fail "rejects mode $(stat -c %a "$T/rejects.csv")"
[ "$(cut -c1-2 "$T/rejects.csv" | tr -d '\r' | tr '\n' ' ')" = "li 2, li 4, 5, " ] ||
    fail "rejects file lines: $(cat "$T/rejects.csv")"
grep -qF 'line 2, column 10 (Close Date): ""31/12/2027"" is not a date in the format MM/DD/YYYY' "$T/rejects.csv" &&
    grep -qF 'line 4: external id ""0065N2"" also on line 5' "$T/rejects.csv" &&
    grep -qF 'line 5: external id ""0065N2"" also on line 4' "$T/rejects.csv" ||
    fail "rejects file: $(cat "$T/rejects.csv")"

# a row too large for one request (its values take over 1 MiB as JSON:
# cells of backslashes, each written twice in JSON) is rejected on its
# own; the rows around it are imported (before, its request got a 413
# and the import stopped: with --batch 1 after committing the first row)
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
cols = [{"column": "ID", "field": "ext_id", "external_id": True, "visibility": "private"},
        {"column": "Name", "field": "name"}]
cols += [{"column": "N%d" % i, "field": "note%d" % i, "visibility": "private"} for i in range(10)]
json.dump({"entente_map": 1, "type": "opportunity", "source": "bulk", "columns": cols},
          open(t + "/bulk.json", "w"))
with open(t + "/bulk.csv", "w", newline="") as f:
    f.write(",".join(c["column"] for c in cols) + "\r\n")
    f.write("B1,Small one" + ",x" * 10 + "\r\n")
    f.write("B2,Huge one" + ("," + "\\" * 64000) * 10 + "\r\n")
    f.write("B3,Small three" + ",y" * 10 + "\r\n")
PY
for b in 1 500; do
    sed "s/^B\([13]\),/B\1-$b,/" "$T/bulk.csv" >"$T/bulk$b.csv"
    expect_exit 1 e A import "$T/bulk$b.csv" --type opportunity --map "$T/bulk.json" --batch $b \
        --rejects "$T/bulk_rej.csv" --json
    [ "$(counts)" = "(2, 0, 0, 1, 2)" ] || fail "a row over the request size, --batch $b: $(cat "$T/out") $(cat "$T/err")"
    grep -q "^3,.*line 3: the row's values take" "$T/bulk_rej.csv" ||
        fail "rejects of the large row: $(cut -c1-300 "$T/bulk_rej.csv")"
done

nodes_stop_all
db_has B "$(printf %s "$CANARY" | od -An -tx1 | tr -d ' \n')" \
    "$(printf %s "$EXTID" | od -An -tx1 | tr -d ' \n')" &&
    fail "a private value is in B's database"
echo "ok crm"
