#!/usr/bin/env bash
# tests/e2e/attach.sh - attachments through the CLI (spec/objects.md
# "Attachments"). A attaches a 1 MiB file (and a small one) to an object B
# is a member of; B lists them (the manifest came with the op, no chunk
# yet), fetches the file from A on demand and writes it: same bytes. C is
# a member of another object of A only: it never gets the manifest nor a
# chunk, and its database holds none of the file's bytes. A whole-object
# erase then drops the chunks on both members. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init attach

node_start A
node_start B
node_start C
ID=$(e A object create --type solution --set "name=Joint brief")
OTHER=$(e A object create --type solution --set "name=Other")
for p in "B $ID" "C $OTHER"; do
    set -- $p
    j=$(e $1 join "$(e A invite "$2")" 2>"$T/join.err") ||
        fail "$1 join: $(cat "$T/join.err")"
done
python3 -c '
import os, sys
data = bytes((i * 7 + i // 251) & 0xff for i in range(1 << 20))
open(sys.argv[1], "wb").write(b"ATTACH-CANARY-" + data)' "$T/brief.bin"
printf 'statement of work\n' >"$T/sow.txt"
e A attach "$ID" "$T/brief.bin" --json >"$T/att.json"
e A attach "$ID" "$T/sow.txt" --name "SOW v1.txt" >/dev/null
py 'd["chunks"]' <"$T/att.json" | grep -qx 22 || fail "1 MiB should be 22 chunks: $(cat "$T/att.json")"

listed() { e B attachment list "$ID" --json | py 'len(d)' | grep -qx 2; }
wait_for "B to learn both manifests" listed
e B attachment list "$ID" --json >"$T/list.json"
python3 - "$T/list.json" <<'EOF' || fail "B's list: $(cat "$T/list.json")"
import json, sys
d = {x["name"]: x for x in json.load(open(sys.argv[1]))}
assert d["brief.bin"]["have"] == 0 and d["brief.bin"]["chunks"] == 22, d
assert d["SOW v1.txt"]["size"] == 18, d
EOF

e B attachment get "$ID" brief.bin --out "$T/got.bin" --timeout 30 >/dev/null
cmp "$T/brief.bin" "$T/got.bin" || fail "B's copy differs"
e B attachment get "$ID" "SOW v1.txt" --out "$T/sow-b.txt" --json >"$T/get.json"
cmp "$T/sow.txt" "$T/sow-b.txt" || fail "B's SOW differs"
# the node writes FILE whole, 0600, through a temporary file renamed onto
# it: a symbolic link at FILE is replaced, never written through
printf 'keep\n' >"$T/link.target"
chmod 644 "$T/link.target"
ln -s "$T/link.target" "$T/sow-link.txt"
e B attachment get "$ID" "SOW v1.txt" --out "$T/sow-link.txt" >/dev/null
[ "$(cat "$T/link.target")" = keep ] || fail "the save wrote through a symbolic link"
[ ! -L "$T/sow-link.txt" ] || fail "the save kept the symbolic link"
cmp "$T/sow.txt" "$T/sow-link.txt" || fail "B's SOW (over a link) differs"
chmod 644 "$T/sow-b.txt"
e B attachment get "$ID" "SOW v1.txt" --out "$T/sow-b.txt" >/dev/null
[ "$(stat -c %a "$T/sow-b.txt")" = 600 ] || fail "saved mode $(stat -c %a "$T/sow-b.txt")"
[ "$(stat -c %a "$T/sow-link.txt")" = 600 ] || fail "saved mode $(stat -c %a "$T/sow-link.txt")"
if ls "$T" | grep -q '\.tmp'; then fail "the save left a temporary file"; fi
e B attachment list "$ID" --json | py '[x["complete"] for x in d]' |
    grep -qx "\[True, True\]" || fail "B does not list both complete"

# --- a node that is not a member: no manifest, no chunk ----------------------
expect_exit 1 e C attachment list "$ID"
hexof() { python3 -c 'import sys; print(sys.argv[1].encode().hex())' "$1"; }
db_has C "$(hexof ATTACH-CANARY-)" && fail "C's database holds the file's bytes"
# (they are sealed: not even A's or B's database holds them in clear)
db_has B "$(hexof ATTACH-CANARY-)" && fail "B's database holds the file in clear"

# --- erasing the object drops the chunks everywhere ---------------------------
e A object erase "$ID"
gone() { [ "$(e "$1" attachment list "$ID" --json | py 'len(d)')" = 0 ]; }
wait_for "B to drop the attachments" gone B
gone A || fail "A still lists attachments"
nodes_stop_all
echo "attach: ok"
