#!/usr/bin/env bash
# tests/e2e/readme.sh - a newcomer follows the README's quickstart. The
# commands are taken from README.md itself, so this test fails as soon as
# the README drifts from what the binary does.
#
# What is run: every indented code line (4 spaces) between the markers
# <!-- quickstart:begin ... --> and <!-- quickstart:end --> in README.md, in
# order, without the indentation; prose and HTML comments are skipped.
# The commands are run as written, with bash -e (the first failing command
# fails the test), in a fresh folder W where:
#
#   - ./entente is a symbolic link to the binary under test ($ENTENTE);
#   - "/tmp/" is replaced by "W/", so that the homes (/tmp/acme, ...) are
#     fresh and private to this run.
#
# Nothing else is changed. Network settings come from lib.sh (quicker
# redials); the nodes listen on 127.0.0.1 port 0 as the README says. The
# quickstart must end with every node it started stopped: any process left
# fails the test (lib.sh's check). Then the test checks what a newcomer
# would look at: three nodes came up, both partners joined, the shown object
# has Globex's edit and no private section, Initech is removed, the audit
# export verifies, and no sanitizer report was printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init readme
README="$(cd "$(dirname "$0")/../.." && pwd)/README.md"
W="$T/w"
mkdir "$W"
ln -s "$ENTENTE" "$W/entente"

# ---- extract --------------------------------------------------------------------
python3 - "$README" "$W" >"$T/quickstart.sh" <<'EOF'
import sys
readme, w = sys.argv[1], sys.argv[2]
inside, blocks, lines, comment = False, 0, [], False
for line in open(readme, encoding="utf-8").read().split("\n"):
    if comment or line.strip().startswith("<!--"):
        # an HTML comment (the markers' own text too) is never a command
        comment = "-->" not in line
        if line.strip().startswith("<!-- quickstart:begin"):
            if inside:
                sys.exit("readme.sh: quickstart:begin inside a quickstart block")
            inside, blocks = True, blocks + 1
        elif line.strip().startswith("<!-- quickstart:end"):
            if not inside:
                sys.exit("readme.sh: quickstart:end without a begin")
            inside = False
        continue
    if inside and line.startswith("    "):
        lines.append(line[4:].replace("/tmp/", w + "/"))
if inside or blocks == 0:
    sys.exit("readme.sh: no complete <!-- quickstart:begin/end --> block in README.md")
# Harness, not README: on a failure, stop what was started before exiting.
print('trap \'st=$?; if [ $st -ne 0 ]; then kill $(jobs -p) 2>/dev/null; wait; fi\' EXIT')
print("\n".join(lines))
EOF
[ "$(grep -c '\./entente' "$T/quickstart.sh")" -ge 15 ] ||
    fail "the quickstart is suspiciously short: $(cat "$T/quickstart.sh")"
grep -q -- "--home $W/acme" "$T/quickstart.sh" || fail "no home under $W: $(cat "$T/quickstart.sh")"
grep -qE "(^|[ =])/tmp/(acme|globex|initech)" "$T/quickstart.sh" && fail "a /tmp/ home was not replaced"

# ---- run, as written ---------------------------------------------------------------
st=0
(cd "$W" && bash -e "$T/quickstart.sh") >"$T/out.log" 2>"$T/err.log" || st=$?
if [ "$st" != 0 ]; then
    echo "--- the quickstart as run:" >&2
    cat -n "$T/quickstart.sh" >&2
    echo "--- its stdout:" >&2
    tail -n 40 "$T/out.log" >&2
    echo "--- its stderr:" >&2
    grep -v " api: " "$T/err.log" | tail -n 40 >&2
    fail "the README quickstart failed (exit $st)"
fi

# ---- what the newcomer sees -----------------------------------------------------------
out() { grep -q -- "$1" "$T/out.log" || fail "not in the quickstart's output: $1"; }
[ "$(grep -c '^ready: listening on 127.0.0.1:' "$T/out.log")" = 3 ] ||
    fail "want three 'ready:' lines: $(grep ready "$T/out.log")"
out "^usage: entente COMMAND"
out "next_step.*Workshop"
out "name.*Contoso ERP"
out "removed.*Initech Cloud"
grep -q "^private:" "$T/out.log" && fail "object show --hide-private showed a private section"
grep -q "our own notes" "$T/out.log" && fail "a private value of Globex was printed"
out "safety code: "
out '"ok":true'
for h in acme globex initech; do
    [ -d "$W/$h/db" ] || fail "no home $h"
    [ -e "$W/$h/api.sock" ] && fail "$h's node did not stop (api.sock is still there)"
done
grep -q "warning: the token carries the loopback address" "$T/err.log" ||
    fail "invite did not warn about its loopback token"
if grep -q -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" -e "runtime error:" "$T/err.log"; then
    fail "sanitizer report: $(grep -A5 -e ERROR -e 'runtime error' "$T/err.log" | head -20)"
fi
echo "readme: ok ($(grep -c . "$T/quickstart.sh") lines of README run)"
