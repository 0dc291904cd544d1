#!/usr/bin/env bash
# tests/e2e/upgrade.sh - a database of the previous release migrates in
# place; a newer one is refused (spec/storage.md "Schema versions").
#
# tests/fixtures/schema1/ is a home written by the release before schema 2
# (commit 6885998^: `init`, `template set opportunity` with its own stages
# and the field stage taking values from the table "stages", an object
# moved to stage Discovery). Served by this build, it migrates to schema 2
# (logged once), on to schema 3 (the op index: every op of the old
# release still found by id), schema 4 (field writes may be pruned),
# schema 5 (object numbers), schema 6 (the numbered table obj_local) and
# schema 7 (object records numbered too),
# keeps the object and the template (the stage field now
# takes the template's stages, the table gone), and a stage set works.
# A second start migrates nothing. Then the same home with the schema set
# to 99 (tests/tools/schema): serve exits 1 naming both versions and the
# store file is unchanged. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init upgrade
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCHEMA_TOOL="$(dirname "$ENTENTE")/tests/tools/schema"
OBJ=c3936ef34bdd0e84e1499ce2bba79eaa9a6ad5feb6052876062d773e7aef3505

mkdir -p "$T/A/db"
cp "$ROOT/tests/fixtures/schema1/data.mdb" "$T/A/db/data.mdb"
cp "$ROOT/tests/fixtures/schema1/identity.key" "$T/A/identity.key"
chmod 600 "$T/A/identity.key" "$T/A/db/data.mdb"
node_start A
grep -q "storage: migrated schema 1 -> 2" "$T/A.log" || fail "no migration logged"
grep -q "storage: migrated schema 2 -> 3" "$T/A.log" || fail "no migration 2 -> 3 logged"
grep -q "storage: migrated schema 3 -> 4" "$T/A.log" || fail "no migration 3 -> 4 logged"
grep -q "storage: migrated schema 4 -> 5" "$T/A.log" || fail "no migration 4 -> 5 logged"
grep -q "storage: migrated schema 5 -> 6" "$T/A.log" || fail "no migration 5 -> 6 logged"
grep -q "storage: migrated schema 6 -> 7" "$T/A.log" || fail "no migration 6 -> 7 logged"
e A object show "$OBJ" --json >"$T/o.json" || fail "object of the old release"
[ "$(py 'd["shared"]["stage"], d["shared"]["name"]' <"$T/o.json")" = "Discovery Legacy deal" ] ||
    fail "old object: $(cat "$T/o.json")"
e A template show opportunity --json >"$T/t.json"
py '[f for f in d["fields"] if f["name"] == "stage"][0]' <"$T/t.json" >"$T/stage.txt"
grep -q "table" "$T/stage.txt" && fail "stage still names a table: $(cat "$T/stage.txt")"
grep -q "Sales stage" "$T/stage.txt" || fail "the template lost its label: $(cat "$T/stage.txt")"
[ "$(py 'd["stages"]' <"$T/t.json")" = "['Discovery', 'Qualification', 'Proposal', 'Closed Won', 'Closed Lost']" ] ||
    fail "stages: $(py 'd["stages"]' <"$T/t.json")"
e A object set "$OBJ" --set stage=Proposal >/dev/null || fail "set a stage of the template"
[ "$(e A object show "$OBJ" --json | py 'd["shared"]["stage"]')" = Proposal ] || fail "stage"
expect_exit 1 e A object set "$OBJ" --set stage=Prospecting
node_stop A
node_start A
[ "$(grep -c "storage: migrated" "$T/A.log")" = 6 ] || fail "migrated twice"
# the ops of the old release are found by id (schema 3's op index): the
# audit export looks up the op of every log entry by its id
e A audit export --out "$T/a.export" >/dev/null || fail "audit export of the migrated store"
[ "$(grep -c "op_authored" <(e A log --json))" -ge 1 ] || fail "no op in the log"
node_stop A

# a backup the old release took (its store of schema 1, as it wrote it)
# still verifies, read as schema 1, and restores into a home that the next
# start migrates (spec/operations.md §2.2)
e A backup "$T/newbk" >/dev/null || fail "backup of the migrated home"
mkdir -p "$T/oldbk/db"
cp "$ROOT/tests/fixtures/schema1/data.mdb" "$T/oldbk/db/data.mdb"
cp "$ROOT/tests/fixtures/schema1/identity.key" "$T/oldbk/identity.key"
chmod 600 "$T/oldbk/identity.key" "$T/oldbk/db/data.mdb"
python3 - "$T/newbk/MANIFEST.json" "$T/oldbk" <<'PY'
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
d = sys.argv[2]
for f in m["files"]:
    b = open(os.path.join(d, f), "rb").read()
    m["files"][f] = {"blake2b": hashlib.blake2b(b, digest_size=32).hexdigest(), "size": len(b)}
m["schema"] = 1
with open(os.path.join(d, "MANIFEST.json"), "w") as out:
    json.dump(m, out, indent=2, sort_keys=True)
PY
"$ENTENTE" backup verify "$T/oldbk" --json >"$T/v.json" || fail "old backup: $(cat "$T/v.json")"
[ "$(py 'd["ok"], d["schema"], d["objects"]' <"$T/v.json")" = "True 1 1" ] ||
    fail "old backup verify: $(cat "$T/v.json")"
cmp -s "$ROOT/tests/fixtures/schema1/data.mdb" "$T/oldbk/db/data.mdb" || fail "verify changed the backup"
"$ENTENTE" restore "$T/oldbk" "$T/R" >/dev/null || fail "restore of the old backup"
node_start R
[ "$(e R object show "$OBJ" --json | py 'd["shared"]["name"]')" = "Legacy deal" ] ||
    fail "the restored object"
e R backup "$T/rbk" >/dev/null || fail "backup of the restored home"
[ "$(py 'd["schema"]' <"$T/rbk/MANIFEST.json")" = 7 ] || fail "the restored home did not migrate"
node_stop R

# a database written by a newer entente
"$SCHEMA_TOOL" "$T/A/db" 99 || fail "schema tool"
before=$(sha256sum "$T/A/db/data.mdb")
expect_exit 1 "$ENTENTE" serve --home "$T/A" --listen 127.0.0.1:0
grep -q "schema 99 is newer than this binary's 7" "$T/err" || fail "newer: $(cat "$T/err")"
expect_err "unsupported version"
[ "$(sha256sum "$T/A/db/data.mdb")" = "$before" ] || fail "a refused open changed the store"
nodes_stop_all
echo "ok upgrade"
