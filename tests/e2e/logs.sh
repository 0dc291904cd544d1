#!/usr/bin/env bash
# tests/e2e/logs.sh - logs for operators (spec/cli.md `serve`):
# --log-format json writes one JSON object a line; --log-file appends to a
# file that SIGHUP reopens after it was moved away (logrotate); one line
# per partner session that opens and closes; bad options are refused
# before anything starts. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init logs

node_init A
expect_exit 2 "$ENTENTE" serve --home "$T/A" --log-format xml
expect_err "--log-format must be text or json"
expect_exit 1 "$ENTENTE" serve --home "$T/A" --log-file "$T/no/such/dir/a.log"
expect_err "cannot open it for appending"
[ -e "$T/A/api.sock" ] && fail "a refused serve left its socket"

SERVE_ARGS=(--log-format json --log-file "$T/A.json" --log-level info)
node_start A
SERVE_ARGS=()
node_start B
ID=$(e A object create --type opportunity --set name=Logged --json | py 'd["id"]')
e B join "$(e A invite "$ID" 2>/dev/null)" >/dev/null 2>&1 || fail "join"
ORG_B=$(node_org B)
wait_for "A logs B's session" grep -q "open with org $ORG_B (accepted)" "$T/A.json"
[ "$(stat -c %a "$T/A.json")" = 600 ] || fail "log file mode"

# logrotate: move the file away, SIGHUP, the node writes a new one
mv "$T/A.json" "$T/A.json.1"
kill -HUP "${NODE_PID[A]}"
wait_for "a new log file" grep -q "received SIGHUP: reopened" "$T/A.json"
kill -0 "${NODE_PID[A]}" || fail "SIGHUP stopped the node"
node_stop B
wait_for "A logs the close" grep -q "session with ${ORG_B:0:12} (B) closed after" "$T/A.json"
node_stop A

# every line of both files is one JSON object with time, level and msg
python3 - "$T/A.json.1" "$T/A.json" <<'PY'
import json, re, sys
n = 0
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        assert set(d) >= {"time", "level", "msg"}, line
        assert d["level"] in ("debug", "info", "warn", "error"), line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["time"]), line
        n += 1
assert n >= 4, n
PY
[ $? = 0 ] || fail "JSON log lines"
grep -q "open with org $ORG_B" "$T/A.json.1" || fail "the moved file lost its lines"
grep -q "ready:" "$T/A.json" "$T/A.json.1" && fail "the ready line belongs on stdout"
nodes_stop_all
echo "ok logs"
