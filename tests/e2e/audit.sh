#!/usr/bin/env bash
# tests/e2e/audit.sh - the activity log through one real `entente serve`
# and the CLI (spec/audit.md): objects created and changed through the CLI
# each leave entries (`entente log`); `audit export` writes one file (mode
# 0600) and ends the log in a checkpoint (its signed head's object
# directory); with the node stopped, `audit verify FILE --json` is ok,
# --org checks the org, partial (--since) and per-object exports verify
# too; one flipped byte inside an entry fails with exit 1 and names that
# entry; a truncated file fails. Needs $ENTENTE (the binary under test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lib_init audit
H="$T/home"
SERVE=

e() { "$ENTENTE" "$@" --home "$H"; } # one home: lib's e takes a node name

e init --name "Audit Corp" --json >"$T/init.json"
ORG=$(py 'd["org"]' <"$T/init.json")
"$ENTENTE" serve --home "$H" --listen 127.0.0.1:0 >>"$T/serve.log" 2>&1 &
SERVE=$!
lib_track "$SERVE"
e status --wait=15s --json >/dev/null 2>&1 || fail "node did not come up"

# ---- changes through the CLI, each in the log ---------------------------------
OBJ=$(e object create --type opportunity --set name="Joint deal" --json | py 'd["id"]')
e object set "$OBJ" --set name="Joint deal 2" >/dev/null
e object set "$OBJ" --private deal_size=1000 >/dev/null # private: no op, no entry
OBJ2=$(e object create --type lead --set company="A lead" --json | py 'd["id"]')
e object set "$OBJ2" --set company="A better lead" >/dev/null
e log --json >"$T/log.json"
N=$(py 'd["size"]' <"$T/log.json")
[ "$N" -eq 4 ] || fail "log has $N entries, want 4: $(cat "$T/log.json")"
[ "$(py '[x["kind"] for x in d["entries"]] == ["op_authored"]*4' <"$T/log.json")" = True ] ||
    fail "kinds: $(cat "$T/log.json")"
[ "$(py 'd["entries"][0]["object"]' <"$T/log.json")" = "$OBJ" ] || fail "entry 0 object"
e log >/dev/null || fail "plain log"

# ---- export -------------------------------------------------------------------
e audit export --out "$T/full.export" >/dev/null || fail "audit export"
[ "$(stat -c %a "$T/full.export")" = 600 ] || fail "export mode $(stat -c %a "$T/full.export")"
e audit export --since 2 --out "$T/since.export" >/dev/null || fail "export --since"
e audit export --object "$OBJ2" --out "$T/obj.export" >/dev/null || fail "export --object"
e audit export >"$T/stdout.export" || fail "export to stdout"
st=0
e audit export --since 99 >/dev/null 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || fail "export --since beyond the log exited $st"
# the export signed a head, and the head ends in a checkpoint (entry 4)
e log --json >"$T/log2.json"
[ "$(py 'd["size"]' <"$T/log2.json")" -eq 5 ] || fail "log after export: $(cat "$T/log2.json")"
[ "$(py 'd["entries"][4]["kind"]' <"$T/log2.json")" = checkpoint ] ||
    fail "no checkpoint: $(cat "$T/log2.json")"

kill -TERM "$SERVE"
wait "$SERVE" || fail "serve exited $? after SIGTERM"
SERVE=

# ---- offline verification (no daemon) -------------------------------------------
e audit verify "$T/full.export" --org "$ORG" --json >"$T/v.json" || fail "verify: $(cat "$T/v.json")"
[ "$(py 'd["ok"]' <"$T/v.json")" = True ] || fail "not ok: $(cat "$T/v.json")"
[ "$(py 'd["entries"]' <"$T/v.json")" -eq 5 ] || fail "entries: $(cat "$T/v.json")"
[ "$(py 'd["ops"]' <"$T/v.json")" -eq 4 ] || fail "ops: $(cat "$T/v.json")"
[ "$(py 'd["org"]' <"$T/v.json")" = "$ORG" ] || fail "org: $(cat "$T/v.json")"
e audit verify "$T/since.export" --json | py 'd["entries"]' | grep -qx 3 || fail "since export"
e audit verify "$T/obj.export" --json | py 'd["entries"]' | grep -qx 2 || fail "object export"
e audit verify "$T/stdout.export" >/dev/null || fail "stdout export"

# another org: refused
"$ENTENTE" init --name Other --home "$T/other" --json >"$T/other.json"
OTHER=$(py 'd["org"]' <"$T/other.json")
st=0
e audit verify "$T/full.export" --org "$OTHER" >/dev/null 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || fail "verify --org OTHER exited $st"
st=0
e audit verify "$T/full.export" --org not-an-org >/dev/null 2>"$T/err" || st=$?
[ "$st" -eq 2 ] || fail "verify --org garbage exited $st"

# one flipped byte inside entry 1 (the entries follow the signed head)
python3 - "$T/full.export" "$T/flipped.export" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
# find entry 1: entries are [3, index, ...] arrays of 11: 0x8b 0x03 0x01
i = b.find(bytes([0x8b, 0x03, 0x01]))
assert i > 0, "entry 1 not found"
b[i + 4] ^= 0x01          # inside its time field
open(sys.argv[2], "wb").write(bytes(b))
PY
st=0
e audit verify "$T/flipped.export" --json >"$T/f.json" 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || fail "flipped export exited $st"
[ "$(py 'd["ok"]' <"$T/f.json")" = False ] || fail "flipped: $(cat "$T/f.json")"
[ "$(py 'd["entry"]' <"$T/f.json")" = 1 ] || fail "flipped names no entry 1: $(cat "$T/f.json")"
grep -q "entry 1" "$T/err" || fail "stderr lacks the entry: $(cat "$T/err")"

# truncated file and missing file
head -c 100 "$T/full.export" >"$T/trunc.export"
st=0
e audit verify "$T/trunc.export" >/dev/null 2>&1 || st=$?
[ "$st" -eq 1 ] || fail "truncated export exited $st"
st=0
e audit verify "$T/nonexistent" >/dev/null 2>&1 || st=$?
[ "$st" -eq 1 ] || fail "missing file exited $st"

echo "audit.sh: ok (4 entries and a checkpoint, exports full/since/object verified, flipped byte caught at entry 1)"
