#!/usr/bin/env bash
# tests/e2e/leaks.sh - no test may leave a process behind. The bug this
# guards against: a shell function started in the background (`e serve &`)
# makes $! the subshell, so a clean-up that kills $! leaves the node running
# with parent PID 1, its home deleted and its port still held.
#
# Each case below commits that bug in a small script of its own and checks
# that the checker notices, names the process, kills it and fails the
# script: tests/run.sh (for every item of `make test`) and tests/e2e/lib.sh
# (for every script that sources it, also when run by hand). A clean script
# still passes. Needs $ENTENTE (the binary under test).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lib_init leaks

# serving_under DIR: true if a live `entente serve` has a home under DIR.
serving_under() {
    python3 - "$1" <<'EOF'
import os, sys
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    if b"serve" in argv and any(a.startswith(sys.argv[1].encode()) for a in argv):
        sys.exit(0)
sys.exit(1)
EOF
}

# up HOME: waits until the node of HOME answers (for the scripts below).
UP='up() { "$ENTENTE" status --home "$1" --wait=20s >/dev/null; }'

# The bug, as tests/demo.sh had it: a function in the background.
{ echo "set -eu"; echo "$UP"; } >"$T/leaky.sh"
cat >>"$T/leaky.sh" <<'EOF'
e() { "$ENTENTE" "$@"; }
H=$LEAK_DIR/home
"$ENTENTE" init --home "$H" --name Leaky --listen 127.0.0.1:0 >/dev/null
e serve --home "$H" --log-level warn &
pid=$!
up "$H"
kill "$pid"  # only the subshell: the node itself keeps running
wait "$pid" 2>/dev/null || true
echo "leaky: exits 0 with its node still running"
EOF

# The same through lib.sh: the node is not started by node_start.
{ echo "set -eu"; echo ". '$HERE/lib.sh'"; echo "lib_init leaky-lib"; echo "$UP"; } >"$T/leaky_lib.sh"
cat >>"$T/leaky_lib.sh" <<'EOF'
H=$LEAK_DIR/home
"$ENTENTE" init --home "$H" --name Leaky --listen 127.0.0.1:0 >/dev/null
e() { "$ENTENTE" "$@"; }
e serve --home "$H" --log-level warn &
up "$H"
kill $!
echo "leaky_lib: exits 0 with its node still running"
EOF

# A script that stops what it started.
{ echo "set -eu"; echo "$UP"; } >"$T/clean.sh"
cat >>"$T/clean.sh" <<'EOF'
H=$LEAK_DIR/home
"$ENTENTE" init --home "$H" --name Clean --listen 127.0.0.1:0 >/dev/null
"$ENTENTE" serve --home "$H" --log-level warn &
pid=$!
up "$H"
kill "$pid"
wait "$pid"
EOF

# ---- tests/run.sh: a leaking item fails, its process is killed ---------------
mkdir "$T/r" "$T/c" "$T/l"
st=0
LEAK_DIR=$T/r LEFTOVER_GRACE=1 bash "$HERE/../run.sh" -- "$T/leaky.sh" -- >"$T/run.out" 2>&1 || st=$?
[ "$st" = 1 ] || fail "run.sh exited $st on a leaking script: $(cat "$T/run.out")"
grep -q "^FAIL .*leaky.sh" "$T/run.out" || fail "no FAIL line: $(cat "$T/run.out")"
grep -q "left processes behind" "$T/run.out" || fail "no leftover report: $(cat "$T/run.out")"
grep -q "entente serve --home" "$T/run.out" || fail "leftover not named: $(cat "$T/run.out")"
grep -qx "0 passed, 1 failed" "$T/run.out" || fail "summary: $(cat "$T/run.out")"
serving_under "$T/" && fail "run.sh left the leaked node running"

# ... while a script that stops what it started passes.
LEAK_DIR=$T/c LEFTOVER_GRACE=1 bash "$HERE/../run.sh" -- "$T/clean.sh" -- >"$T/run2.out" 2>&1 ||
    fail "run.sh failed a clean script: $(cat "$T/run2.out")"
grep -qx "1 passed, 0 failed" "$T/run2.out" || fail "summary: $(cat "$T/run2.out")"
serving_under "$T/" && fail "a node is left after the clean script"

# ---- tests/run.sh with TEST_JOBS=2: items overlap, every outcome is counted --
# Each of the two meeting scripts waits (bounded) for the other to start, so
# they pass only when run at the same time; the third fails on purpose.
mkdir "$T/p"
for me in a b; do
    other=b
    [ $me = b ] && other=a
    cat >"$T/meet_$me.sh" <<EOF
touch "$T/p/$me"
for i in \$(seq 100); do [ -e "$T/p/$other" ] && exit 0; sleep 0.1; done
echo "$me never met $other"; exit 1
EOF
done
printf 'echo broken on purpose; exit 3\n' >"$T/broken.sh"
st=0
TEST_JOBS=2 bash "$HERE/../run.sh" -- "$T/meet_a.sh" "$T/meet_b.sh" "$T/broken.sh" -- \
    >"$T/run3.out" 2>&1 || st=$?
[ "$st" = 1 ] || fail "run.sh exited $st with a failing item: $(cat "$T/run3.out")"
grep -qx "2 passed, 1 failed" "$T/run3.out" || fail "parallel summary: $(cat "$T/run3.out")"
grep -q "^FAIL .*broken.sh" "$T/run3.out" || fail "no FAIL line for broken.sh: $(cat "$T/run3.out")"
grep -q "broken on purpose" "$T/run3.out" || fail "failing item's log not shown: $(cat "$T/run3.out")"
grep -qx "failed: $T/broken.sh" "$T/run3.out" || fail "failed list: $(cat "$T/run3.out")"

# ---- tests/e2e/lib.sh: the script itself fails at exit ----------------------
st=0
LEAK_DIR=$T/l bash "$T/leaky_lib.sh" >"$T/lib.out" 2>&1 || st=$?
[ "$st" = 1 ] || fail "a leaking lib.sh script exited $st: $(cat "$T/lib.out")"
grep -q "left processes behind" "$T/lib.out" || fail "no leftover report: $(cat "$T/lib.out")"
grep -q "entente serve --home $T/l/home" "$T/lib.out" || fail "leftover not named: $(cat "$T/lib.out")"
serving_under "$T/l/" && fail "lib.sh left the leaked node running"

echo "leaks: ok"
