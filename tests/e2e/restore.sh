#!/usr/bin/env bash
# tests/e2e/restore.sh - `entente restore DIR HOME` and catching up without
# forks (spec/operations.md §3).
#
# A and B share an object. A backs up, then makes 50 more ops (B has them)
# and stops. A restore of a damaged backup, and one into a non-empty home,
# are refused and leave nothing. The backup is restored into a new home for
# A (same key) and started while B is down: writes on the shared object are
# refused with the clear error (HTTP 503 through the API), status shows
# "catching_up", a brand-new object may still be created. B starts: A gets
# its 50 ops back from B, catches up by itself, and a new write continues
# A's chain (its seqs on the object stay 1..N without a gap or a repeat)
# and reaches B; no op equivocation anywhere. Then the operator override,
# online and offline: a warning, and writes go through. Needs $ENTENTE.
#
# The activity log (spec/audit.md §11.1): B keeps A's last witnessed tree
# head, signed after the backup over entries the restore lost. A2 asks B
# for it and declares a signed rewind; B records it (no equivocation
# proof), and once A2's log has grown past that head's size B keeps A2's
# new heads, `audit heads` and `status` report the rewind, and A2's export
# verifies against B's file and against the lost head with the rewind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init restore

node_start A
node_start B
OBJ=$(e A object create --type opportunity --set "name=Restore deal" --json | py 'd["id"]')
j=$(e B join "$(e A invite "$OBJ")" 2>"$T/join.err") || fail "join: $(cat "$T/join.err")"
[ "$j" = "$OBJ" ] || fail "join printed '$j'"
wait_for "B to join" same_shared "$OBJ" A B
e A object set "$OBJ" --set next_step="before backup" >/dev/null
wait_for "B to agree before the backup" same_shared "$OBJ" A B
e A backup "$T/bk" >/dev/null || fail "backup"
for i in $(seq 1 50); do
    e A object set "$OBJ" --set next_step="after $i" >/dev/null
done
has_step() { [ "$(e "$1" object show "$OBJ" --json | py 'd["shared"].get("next_step")')" = "$2" ]; }
wait_for "B to hold A's 50 ops" has_step B "after 50"
# B keeps a head of A's whole log: the head A2 must rewind.
SIZE=$(e A audit export --out "$T/size.audit" --json | py 'd["tree_size"]')
b_head_of_a() { [ "$(e B audit heads --json | py 'max([h["size"] for h in d["heads"]] or [0])')" -ge "$SIZE" ]; }
wait_for "B to keep a head of A's whole log ($SIZE entries)" b_head_of_a
ORG=$(node_org A)
# the restored node and B come back on the ports the other has on file
NODE_LISTEN_AT[A2]=$(node_listen A)
NODE_LISTEN_AT[B]=$(node_listen B)
node_stop A

# ---- refusals: nothing left behind ------------------------------------------------
cp -a "$T/bk" "$T/bad"
printf '\xff' | dd of="$T/bad/db/data.mdb" bs=1 seek=9000 conv=notrunc 2>/dev/null
expect_exit 1 "$ENTENTE" restore "$T/bad" "$T/R1"
expect_err "the backup fails its check"
expect_err "db/data.mdb: size or BLAKE2b-256 differs"
[ -e "$T/R1" ] && fail "a refused restore created the home"
mkdir "$T/full" && echo x >"$T/full/keep"
expect_exit 1 "$ENTENTE" restore "$T/bk" "$T/full"
expect_err "exists and is not an empty folder"
[ "$(ls "$T/full")" = keep ] || fail "a refused restore touched the folder"
ls -d "$T"/R1.tmp-* "$T"/full.tmp-* >/dev/null 2>&1 && fail "a temporary folder was left"

# ---- restore, start with B down: writes refused ------------------------------------
node_stop B
"$ENTENTE" restore "$T/bk" "$T/A2" --json >"$T/r.json" || fail "restore"
[ "$(py 'd["org"]' <"$T/r.json")" = "$ORG" ] || fail "restore report: $(cat "$T/r.json")"
[ "$(stat -c %a "$T/A2")" = 700 ] || fail "home mode $(stat -c %a "$T/A2")"
[ "$(stat -c %a "$T/A2/db")" = 700 ] || fail "db mode"
for f in identity.key db/data.mdb; do
    [ "$(stat -c %a "$T/A2/$f")" = 600 ] || fail "$f mode $(stat -c %a "$T/A2/$f")"
done
node_start A2
[ "$(node_org A2)" = "$ORG" ] || fail "the restored node is another org"
e A2 status --json >"$T/s.json"
[ "$(py 'd["restore"]' <"$T/s.json")" = "{'state': 'catching_up', 'partners': 1, 'in_sync': 0}" ] ||
    fail "status while catching up: $(cat "$T/s.json")"
e A2 status | grep -q "catching up after a restore from a backup, 0 of 1 partners in sync" ||
    fail "entente status does not say it is catching up"
expect_exit 1 e A2 object set "$OBJ" --set next_step="too early"
expect_err "this node was restored from a backup and is fetching its own newer ops back from its partners (0 of 1 in sync)"
expect_err "entente restore done"
# the API: 503 with Retry-After
python3 - "$T/A2/api.sock" "$OBJ" >"$T/http.txt" <<'PY' || fail "raw API request"
import socket, sys, json
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = json.dumps({"set": {"next_step": "raw"}}).encode()
s.sendall(b"POST /v1/objects/" + sys.argv[2].encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
          + str(len(body)).encode() + b"\r\n\r\n" + body)
out = b""
while True:
    d = s.recv(65536)
    if not d: break
    out += d
print(out.decode())
PY
grep -q "^HTTP/1.1 503" "$T/http.txt" || fail "API answer while catching up: $(head -c 600 "$T/http.txt")"
grep -qi "^Retry-After: " "$T/http.txt" || fail "no Retry-After: $(head -c 600 "$T/http.txt")"
grep -q "ENT_ERESTORING" "$T/http.txt" || fail "no ENT_ERESTORING: $(head -c 600 "$T/http.txt")"
# a brand-new object has no earlier ops to repeat: allowed
e A2 object create --type opportunity --set "name=New while restoring" >/dev/null ||
    fail "creating a new object while catching up"
has_step A2 "before backup" || fail "the restored node does not show the backup's state"

# ---- B comes back: A2 gets its ops back and catches up by itself ----------------------
node_start B
caught_up() { [ "$(e A2 status --json | py 'd["restore"]')" = None ]; }
wait_for "A2 to catch up" caught_up
grep -q "restore: caught up with 1 partners; local writes allowed" "$T/A2.log" ||
    fail "no catch-up line in the log"
has_step A2 "after 50" || fail "A2 lacks its 50 ops after catching up"
same_shared "$OBJ" A2 B || fail "A2 and B differ after catching up"
e A2 object set "$OBJ" --set next_step="after restore" >/dev/null || fail "write after catching up"
wait_for "B to get A2's new op" has_step B "after restore"
for n in A2 B; do
    [ "$(e $n status --json | py 'd["equivocations"]')" = 0 ] ||
        fail "$n records an equivocation: $(e $n log | grep -i equivoc)"
    [ "$(e $n log --json | py 'len([x for x in d["entries"] if x["kind"] == "equivocation"])')" = 0 ] ||
        fail "$n logged an equivocation"
done
# A's chain on the object: seqs 1..N, no repeat, no gap, the new op last
KEY=$(e A2 object key "$OBJ")
e B audit export --object "$OBJ" --out "$T/b.audit" >/dev/null || fail "B audit export"
e B audit verify "$T/b.audit" --key "$KEY" --json >"$T/h.json" || fail "verify: $(cat "$T/h.json")"
python3 - "$T/h.json" "$ORG" <<'PY' || fail "A's chain on the object is broken"
import json, sys
d = json.load(open(sys.argv[1]))
seqs = [h["seq"] for h in d["history"] if h["author"] == sys.argv[2]]
assert sorted(seqs) == list(range(1, len(seqs) + 1)), seqs
assert len(seqs) >= 53, len(seqs)
assert d["equivocations"] == 0, d["equivocations"]
print("restore: A's chain on the object runs 1..%d" % len(seqs))
PY
# ---- the rewind: A2's log grows past the head B kept of the lost log -------------
grep -q "witness: declared a rewind to" "$T/A2.log" || fail "A2 declared no rewind"
grep -q "declared a rewind of its activity log" "$T/B.log" || fail "B recorded no rewind"
e B audit heads --org "$ORG" --json >"$T/rw.json"
python3 - "$T/rw.json" "$SIZE" <<'PY' || fail "B's rewind of A: $(cat "$T/rw.json")"
import json, sys
d = json.load(open(sys.argv[1])); size = int(sys.argv[2])
[r] = d["rewinds"]
assert r["lost"] >= size > r["base"] > 0, r
PY
LOST=$(py 'd["rewinds"][0]["lost"]' <"$T/rw.json")
# B's event stream says it too: one rewind.recorded of A, with both sizes
e B events --kind rewind.recorded --json >"$T/rw_ev.json"
python3 - "$T/rw_ev.json" "$T/rw.json" "$ORG" <<'PY' || fail "B's rewind event: $(cat "$T/rw_ev.json")"
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
r = json.load(open(sys.argv[2]))["rewinds"][0]
[e] = ev
assert e["org"] == sys.argv[3] and e["object"] is None, e
assert e["data"] == {"base": r["base"], "lost": r["lost"]}, (e, r)
PY
a2_size() { e A2 audit export --out "$T/a2.audit" --json | py 'd["tree_size"]'; }
while [ "$(a2_size)" -le "$((LOST + 2))" ]; do
    for i in 1 2 3 4 5 6 7 8; do e A2 object set "$OBJ" --set next_step="grow $i" >/dev/null; done
done
N2=$(a2_size)
b_kept_a2() { [ "$(e B audit heads --org "$ORG" --json | py 'd["heads"][0]["size"]')" -ge "$N2" ]; }
wait_for "B to keep A2's head past the lost one ($N2 > $LOST entries)" b_kept_a2
for n in A2 B; do
    [ "$(e $n status --json | py 'd["equivocations"]')" = 0 ] ||
        fail "$n records an equivocation after the rewind: $(e $n log | grep -i equivoc)"
done
[ "$(e B status --json | py 'd["rewinds"]')" = 1 ] || fail "B's status counts no rewind"
e B status | grep -q "^rewinds: 1" || fail "entente status shows no rewind"
e B audit heads | grep -q "^rewind .*log beyond .* entries lost at" || fail "audit heads shows no rewind"
e B audit heads --json >"$T/heads_b.json"
e A2 audit export --out "$T/a2.audit" >/dev/null || fail "A2 audit export"
e A2 audit verify "$T/a2.audit" --org "$ORG" --witness "$T/heads_b.json" --json >"$T/v.json" ||
    fail "A2's export does not verify against B's heads: $(cat "$T/v.json")"
python3 - "$T/v.json" "$LOST" <<'PY' || fail "verify does not report the rewind: $(cat "$T/v.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] and len(d["rewinds"]) == 1 and d["rewinds"][0]["lost"] == int(sys.argv[2]), d
PY
# the lost head alone fails (the log was rewritten); with the rewind it is excused
py 'd["rewinds"][0]["rewind"]' <"$T/rw.json" >"$T/rw.hex"
LOSTHEX=$(python3 - "$T/rw.hex" <<'PY'
import sys
b = bytes.fromhex(open(sys.argv[1]).read().strip())
# the record: 0x86, text tag (15), bstr org (34), bstr base, bstr lost, ...
i = 1 + 15 + 34
def bstr(i):
    n = b[i] & 0x1f
    if n == 24: return i + 2, b[i + 1]
    return i + 1, n
j, n = bstr(i); j, m = bstr(j + n); print(b[j:j + m].hex())
PY
)
echo "$LOSTHEX" >"$T/lost.hex"
expect_exit 1 "$ENTENTE" audit verify "$T/a2.audit" --witness "$T/lost.hex"
expect_err "rewritten"
cat "$T/rw.hex" >>"$T/lost.hex"
"$ENTENTE" audit verify "$T/a2.audit" --witness "$T/lost.hex" --json >"$T/v2.json" ||
    fail "the lost head with its rewind does not verify: $(cat "$T/v2.json")"
[ "$(py 'd["rewound"]' <"$T/v2.json")" = 1 ] || fail "the lost head was not excused: $(cat "$T/v2.json")"
node_stop A2
node_stop B

# ---- the operator override --------------------------------------------------------
"$ENTENTE" restore "$T/bk" "$T/A3" >/dev/null || fail "second restore"
node_start A3
expect_exit 1 e A3 object set "$OBJ" --set next_step="refused"
expect_err "(0 of 1 in sync)"
expect_exit 0 e A3 restore done
expect_err "warning: local writes allowed before this node has caught up"
[ "$(e A3 status --json | py 'd["restore"]')" = None ] || fail "still catching up after restore done"
e A3 object set "$OBJ" --set next_step="forced" >/dev/null || fail "write after restore done"
grep -q "the operator allowed local writes" "$T/A3.log" || fail "no warning in the log"
node_stop A3
"$ENTENTE" restore "$T/bk" "$T/A4" >/dev/null || fail "third restore"
expect_exit 0 e A4 restore done
expect_err "warning: local writes allowed"
grep -q "restore mark cleared" "$T/out" || fail "offline restore done: $(cat "$T/out")"
expect_exit 0 e A4 restore done
grep -q "was not catching up" "$T/out" || fail "second restore done: $(cat "$T/out")"

nodes_stop_all
echo "ok restore"
