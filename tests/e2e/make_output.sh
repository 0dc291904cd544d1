#!/usr/bin/env bash
# tests/e2e/make_output.sh - what `make` and `make test` print (README.md,
# "Two commands"): a quiet build says "CC file" per file and nothing else,
# V=1 shows every command in full, and a compiler error is always shown;
# `make test` holds its build's output back (tests/quiet.sh) and shows it
# only when the build fails, then one line per test (tests/run.sh) and the
# summary "N passed, N failed".
#
# The Makefile runs on a copy of the sources in a temporary folder (its own
# build/), one object at a time, so nothing of the tree under test is
# touched. Nested make must not see the MAKEFLAGS of a `make test` around
# it, nor its V.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/entente-e2e-make.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$T/src" "$T/src/tests"
cp -r "$ROOT/Makefile" "$ROOT/node" "$ROOT/protocol" "$ROOT/crypto" "$ROOT/storage" "$T/src/"
cp "$ROOT/tests/quiet.sh" "$ROOT/tests/run.sh" "$T/src/tests/"
cd "$T/src"
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u V make --no-print-directory "$@"; }

# ---- quiet by default: one line per file --------------------------------------
mk build/rel/node/err.o >"$T/out" 2>&1 || fail "make err.o: $(cat "$T/out")"
[ "$(cat "$T/out")" = "  CC     node/err.c" ] || fail "quiet make printed: $(cat "$T/out")"

# ---- V=1: the full command ----------------------------------------------------
rm build/rel/node/err.o
mk V=1 build/rel/node/err.o >"$T/out" 2>&1 || fail "make V=1: $(cat "$T/out")"
grep -q -- "-Werror .*-c -o build/rel/node/err.o node/err.c" "$T/out" ||
    fail "make V=1 did not show the command: $(cat "$T/out")"
grep -q "^  CC " "$T/out" && fail "make V=1 printed a short line too: $(cat "$T/out")"

# ---- a compiler error is shown, quiet or not -------------------------------------
printf 'int ent__broken(void) { return undeclared_name; }\n' >node/zz_broken.c
st=0
mk build/rel/node/zz_broken.o >"$T/out" 2>&1 || st=$?
[ "$st" != 0 ] || fail "a broken file compiled"
grep -q "undeclared_name" "$T/out" || fail "the compiler error is hidden: $(cat "$T/out")"

# ---- the build step of `make test`: one line, or everything on failure -------------
st=0
env -u V tests/quiet.sh "build (test)" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make --no-print-directory build/rel/node/log.o >"$T/out" 2>&1 || st=$?
[ "$st" = 0 ] || fail "quiet.sh on a good build exited $st: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" = 1 ] && grep -qx "build (test): ok ([0-9]* s)" "$T/out" ||
    fail "quiet.sh on a good build printed: $(cat "$T/out")"
st=0
env -u V tests/quiet.sh "build (test)" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make --no-print-directory build/rel/node/zz_broken.o >"$T/out" 2>&1 || st=$?
[ "$st" = 2 ] || fail "quiet.sh on a failing build exited $st, want make's 2"
grep -q "undeclared_name" "$T/out" || fail "quiet.sh hid the compiler error: $(cat "$T/out")"
[ "$(tail -n 1 "$T/out")" = "build (test): failed (exit 2)" ] ||
    fail "quiet.sh last line: $(tail -n 1 "$T/out")"
V=1 tests/quiet.sh "build (test)" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make --no-print-directory V=1 build/rel/node/objects/hlc.o >"$T/out" 2>&1 ||
    fail "quiet.sh V=1: $(cat "$T/out")"
grep -q -- "-c -o build/rel/node/objects/hlc.o" "$T/out" || fail "quiet.sh V=1 hid the command: $(cat "$T/out")"
grep -q "build (test): ok" "$T/out" && fail "quiet.sh V=1 summarised: $(cat "$T/out")"
rm node/zz_broken.c

# ---- the test runner: one line per test and the summary ------------------------------
printf '#!/bin/sh\necho lots of output\nexit 0\n' >"$T/good.sh"
printf '#!/bin/sh\necho the reason it failed\nexit 1\n' >"$T/bad.sh"
st=0
env -u TEST_CPU LEFTOVER_GRACE=1 bash tests/run.sh -- "$T/good.sh" "$T/bad.sh" -- >"$T/out" 2>&1 || st=$?
[ "$st" = 1 ] || fail "run.sh exited $st"
# the two run at once: their lines come in the order they end
grep -qE "^PASS $T/good.sh +[0-9]+s$" "$T/out" || fail "run.sh PASS line: $(cat "$T/out")"
grep -qE "^FAIL $T/bad.sh +[0-9]+s$" "$T/out" || fail "run.sh FAIL line: $(cat "$T/out")"
[ "$(grep -cE '^(PASS|FAIL) ' "$T/out")" = 2 ] || fail "run.sh lines: $(cat "$T/out")"
grep -qx "    | the reason it failed" "$T/out" || fail "run.sh hid the failure's log: $(cat "$T/out")"
grep -q "lots of output" "$T/out" && fail "run.sh showed a passing test's output: $(cat "$T/out")"
[ "$(tail -n 1 "$T/out")" = "1 passed, 1 failed" ] || fail "run.sh summary: $(tail -n 1 "$T/out")"
# TEST_CPU=1 adds the item's CPU seconds to its line
TEST_CPU=1 LEFTOVER_GRACE=1 bash tests/run.sh -- "$T/good.sh" -- >"$T/out" 2>&1 ||
    fail "run.sh with TEST_CPU: $(cat "$T/out")"
grep -qE "^PASS $T/good.sh +[0-9]+s +[0-9]+\.[0-9]s cpu$" "$T/out" ||
    fail "run.sh PASS line with TEST_CPU: $(cat "$T/out")"
echo "make_output: ok"
