#!/usr/bin/env bash
# tests/e2e/backup.sh - `entente backup DIR` and `backup verify DIR`
# (spec/operations.md §2).
#
# A node runs and a writer keeps changing an object while the backup is
# taken: the backup verifies, holds the object at one consistent point
# (its store opens as a node and shows it), its files are 0600 in a 0700
# folder, and the manifest names the org; verify writes nothing into it
# (a read-only copy verifies). Then the attacks and mistakes:
# a backup into a non-empty folder is refused and leaves nothing; a
# flipped byte in the store, an edited manifest (size or hash or org), a
# key file swapped for another org's, a missing file, a FIFO or a device
# in place of a file, a manifest of an
# unknown format and a damaged activity-log entry with a matching manifest
# each make `backup verify` fail with the reason. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init backup

node_start A
OBJ=$(e A object create --type opportunity --set name=Backed --json | py 'd["id"]')
for i in $(seq 1 5); do e A object set "$OBJ" --set next_step="step $i" >/dev/null; done
# a writer keeps going while the backup is taken
(for i in $(seq 6 40); do e A object set "$OBJ" --set next_step="step $i" >/dev/null 2>&1 || true; done) &
W=$!
lib_track "$W"
e A backup "$T/bk1" --json >"$T/m.json" || fail "backup of a running node"
wait "$W" || true
ORG=$(node_org A)
[ "$(py 'd["org"]' <"$T/m.json")" = "$ORG" ] || fail "manifest org"
[ "$(py 'd["format"]' <"$T/m.json")" = 1 ] || fail "manifest format"
[ "$(stat -c %a "$T/bk1")" = 700 ] || fail "backup folder mode $(stat -c %a "$T/bk1")"
for f in identity.key db/data.mdb MANIFEST.json; do
    [ "$(stat -c %a "$T/bk1/$f")" = 600 ] || fail "$f mode $(stat -c %a "$T/bk1/$f")"
done
e A backup verify "$T/bk1" --json >"$T/v.json" || fail "verify: $(cat "$T/v.json")"
[ "$(py 'd["ok"] and d["objects"] >= 1 and d["org"] == "'"$ORG"'"' <"$T/v.json")" = True ] ||
    fail "verify report: $(cat "$T/v.json")"
# verify writes nothing into the backup (no db/lock.mdb), so a backup on
# read-only storage verifies and restores: a copy without write
# permission, checked as a user other than root where the test runs as
# root (root writes anyway)
[ -e "$T/bk1/db/lock.mdb" ] && fail "backup verify created db/lock.mdb in the backup"
cp -a "$T/bk1" "$T/ro"
RUN=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chown -R 65534:65534 "$T/ro" && chmod o+x "$T" &&
        RUN=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent)
fi
chmod -R a-w "$T/ro"
"${RUN[@]}" "$ENTENTE" backup verify "$T/ro" --home "$T/ro" >"$T/out" 2>&1 ||
    fail "verify of a read-only backup: $(cat "$T/out")"
chmod -R u+w "$T/ro"

# the copy is a working home at one point of the writer's run
mkdir -p "$T/R"
cp -a "$T/bk1/db" "$T/R/db" && cp -a "$T/bk1/identity.key" "$T/R/identity.key"
node_start R
step=$(e R object show "$OBJ" --json | py 'd["shared"]["next_step"]')
case "$step" in "step "[0-9]*) ;; *) fail "restored copy shows next_step '$step'" ;; esac
node_stop R

# a signed head in the log: verify checks it
e A audit export --out "$T/x.audit" >/dev/null || fail "export (signs a head)"
e A backup "$T/bk2" >/dev/null || fail "second backup"
[ "$(e A backup verify "$T/bk2" --json | py 'd["heads"] >= 1')" = True ] || fail "heads"

# a folder named with a trailing slash (as shells complete it) is that
# folder, new or empty, for a backup and a restore alike
e A backup "$T/bk3/" >/dev/null || fail "backup into a new DIR/"
mkdir "$T/bk4"
e A backup "$T/bk4/" >/dev/null || fail "backup into an empty DIR/"
e A backup verify "$T/bk4/" >/dev/null || fail "verify DIR/"
"$ENTENTE" restore "$T/bk3/" "$T/R3/" --home "$T/A" >/dev/null || fail "restore into a new HOME/"
mkdir "$T/R4"
"$ENTENTE" restore "$T/bk4" "$T/R4/" --home "$T/A" >/dev/null || fail "restore into an empty HOME/"
for d in bk3 bk4 R3 R4; do
    [ -f "$T/$d/identity.key" ] || fail "$d/ holds no identity.key"
    if compgen -G "$T/$d.tmp-*" >/dev/null || compgen -G "$T/$d/.tmp-*" >/dev/null; then
        fail "$d/: a temporary folder left"
    fi
done

# ---- mistakes and attacks ---------------------------------------------------
mkdir "$T/full" && echo x >"$T/full/keep"
expect_exit 1 e A backup "$T/full"
expect_err "exists and is not an empty folder"
[ "$(ls "$T/full")" = keep ] || fail "refused backup touched the folder"
ls -d "$T"/full.tmp-* >/dev/null 2>&1 && fail "refused backup left a temporary folder"
expect_exit 1 "$ENTENTE" backup "$T/nohome-bk" --home "$T/nohome"
[ -e "$T/nohome-bk" ] && fail "backup of no home created a folder"

bad() { # NAME: a fresh copy of bk2 to damage
    rm -rf "$T/$1"; cp -a "$T/bk2" "$T/$1"
}
bad flip
printf '\xff' | dd of="$T/flip/db/data.mdb" bs=1 seek=9000 conv=notrunc 2>/dev/null
expect_exit 1 e A backup verify "$T/flip"
expect_err "db/data.mdb: size or BLAKE2b-256 differs"

bad man
python3 - "$T/man/MANIFEST.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["files"]["identity.key"]["size"] += 1
json.dump(m, open(sys.argv[1], "w"))
PY
expect_exit 1 e A backup verify "$T/man"
expect_err "identity.key: size or BLAKE2b-256 differs"

node_init B
bad key
cp "$T/B/identity.key" "$T/key/identity.key"
python3 - "$T/key/MANIFEST.json" "$T/key/identity.key" <<'PY'
import json, sys, hashlib
m = json.load(open(sys.argv[1])); k = open(sys.argv[2], "rb").read()
m["files"]["identity.key"] = {"size": len(k), "blake2b": hashlib.blake2b(k, digest_size=32).hexdigest()}
json.dump(m, open(sys.argv[1], "w"))
PY
expect_exit 1 e A backup verify "$T/key"
expect_err "identity.key is not the key of org $ORG"

bad miss
rm "$T/miss/identity.key"
expect_exit 1 e A backup verify "$T/miss"
expect_err "identity.key: missing or unreadable"

# files that are not regular files: a FIFO would block the check for
# ever, a device never ends; each is refused at once (timeout: a hang)
bad fifo
rm "$T/fifo/db/data.mdb" && mkfifo "$T/fifo/db/data.mdb"
expect_exit 1 timeout 60 "$ENTENTE" backup verify "$T/fifo" --home "$T/A"
expect_err "db/data.mdb: not a regular file"
bad dev
ln -sf /dev/zero "$T/dev/identity.key"
expect_exit 1 timeout 60 "$ENTENTE" backup verify "$T/dev" --home "$T/A"
expect_err "identity.key: not a regular file"
bad mfifo
rm "$T/mfifo/MANIFEST.json" && mkfifo "$T/mfifo/MANIFEST.json"
expect_exit 1 timeout 60 "$ENTENTE" restore "$T/mfifo" "$T/mfifo-home" --home "$T/A"
expect_err "not a regular file"
[ -e "$T/mfifo-home" ] && fail "a refused restore created its home"

bad fmt
python3 - "$T/fmt/MANIFEST.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["format"] = 99
json.dump(m, open(sys.argv[1], "w"))
PY
expect_exit 1 e A backup verify "$T/fmt"
expect_err "format"

# a changed log entry, with a manifest made to match: the log check finds it
bad log
python3 - "$T/log/db/data.mdb" "$T/log/MANIFEST.json" "$OBJ" <<'PY'
import hashlib, json, sys
db, man, obj = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
b = bytearray(open(db, "rb").read())
# an activity-log entry names the object (32 bytes after the CBOR byte
# string head 0x58 0x20): change one byte of the object id in the first
# entry found after its stored leaf hash (the leaf itself stays)
i = b.find(b"\x58\x20" + obj)
assert i > 0, "no log entry naming the object"
b[i + 2] ^= 1
open(db, "wb").write(b)
m = json.load(open(man))
m["files"]["db/data.mdb"] = {"size": len(b), "blake2b": hashlib.blake2b(bytes(b), digest_size=32).hexdigest()}
json.dump(m, open(man, "w"))
PY
expect_exit 1 e A backup verify "$T/log"
expect_err "activity log: an entry does not hash to its stored leaf"

expect_exit 1 e A backup verify "$T/nothing-here"
expect_err "not a backup folder"

nodes_stop_all
echo "ok backup"
