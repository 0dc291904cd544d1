#!/usr/bin/env bash
# tests/e2e/disk.sh - a full disk and a read-only home, on small tmpfs mounts
# that this test creates and removes itself (needs root, as CI and the dev
# machines run). Each failure must be a clear error, and nothing may be
# half-written or lost.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init disk
MNT="$T/mnt"
lib_at_exit 'umount "$MNT" 2>/dev/null'
[ "$(id -u)" = 0 ] || fail "needs root to mount a small tmpfs"
mkdir -p "$MNT"

# 1. init on a full file system: a clear error, no home, no temp folder left.
mount -t tmpfs -o size=64k tmpfs "$MNT"
dd if=/dev/zero of="$MNT/fill" bs=4k count=100 2>/dev/null || true
rc=0
"$ENTENTE" init --home "$MNT/home" --name "Full Disk Inc" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "init on a full disk exited $rc"
grep -qi "no space left" "$T/err" || fail "init on a full disk: unclear error: $(cat "$T/err")"
left=$(ls -A "$MNT" | grep -v '^fill$' || true)
[ -z "$left" ] || fail "init on a full disk left: $left"
echo "ok: init on a full disk: $(cat "$T/err")"
umount "$MNT"

# 2. init in a read-only place: a clear error, nothing written.
mount -t tmpfs -o size=1m,ro tmpfs "$MNT"
rc=0
"$ENTENTE" init --home "$MNT/home" --name "Read Only Inc" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "init on a read-only fs exited $rc"
grep -qiE "read-only|permission denied" "$T/err" || fail "init read-only: unclear error: $(cat "$T/err")"
echo "ok: init on a read-only file system: $(cat "$T/err")"
umount "$MNT"

# 3. a node whose disk fills while it works: writes fail with a clear error,
#    acknowledged data stays, the node keeps serving reads, and after space
#    is freed it writes again.
mount -t tmpfs -o size=3m tmpfs "$MNT"
H="$MNT/home"
ENTENTE_MAP_SIZE=1m "$ENTENTE" init --home "$H" --name "Filling Inc" >/dev/null
ENTENTE_MAP_SIZE=1m "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0 --log-level warn 2>"$T/serve.log" &
SERVE=$!
lib_track "$SERVE"
"$ENTENTE" status --home "$H" --wait=15s --json >/dev/null 2>&1 || fail "node did not come up"
obj=$("$ENTENTE" object create --home "$H" --type opportunity --set name=start)
big=$(head -c 3000 /dev/zero | tr '\0' x)
acked=0
failed=0
# four fields of 3,000 bytes a set: the 1 MB map fills in about 40 sets
# (one field a set took about 165 CLI calls, each an ASan start-up)
for i in $(seq 1 500); do
    if "$ENTENTE" object set "$obj" --home "$H" --custom "f${i}a=$big" --custom "f${i}b=$big" \
        --custom "f${i}c=$big" --custom "f${i}d=$big" >/dev/null 2>"$T/err"; then
        acked=$i
    else
        failed=1
        break
    fi
done
[ $failed -eq 1 ] || fail "the disk never filled"
grep -qiE "no space left|database map full|full" "$T/err" || fail "full disk: unclear error: $(cat "$T/err")"
echo "ok: writes stop on a full disk after $acked acknowledged sets: $(cat "$T/err")"
# every acknowledged field is still there, and reads work
"$ENTENTE" object show "$obj" --home "$H" --json >"$T/show.json" || fail "show after full disk"
python3 - "$T/show.json" "$acked" <<'PY' || fail "acknowledged writes missing"
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
missing = [(i, c) for i in range(1, n + 1) for c in "abcd" if ("f%d%s" % (i, c)) not in d["shared"]]
sys.exit(1 if missing else 0)
PY
echo "ok: all $acked acknowledged writes present"
# grow the file system; the node writes again
mount -o remount,size=16m "$MNT"
ok=0
for _ in $(seq 1 20); do
    if "$ENTENTE" object set "$obj" --home "$H" --custom after=space >/dev/null 2>"$T/err"; then ok=1; break; fi
    sleep 0.2
done
[ $ok -eq 1 ] || fail "no write after space was freed: $(cat "$T/err")"
echo "ok: writes resume once space is freed"
kill -TERM "$SERVE"
wait "$SERVE" || fail "serve did not exit cleanly after the full disk"
echo "disk: all checks passed"
