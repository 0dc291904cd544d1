#!/usr/bin/env bash
# tests/bench/web_board.sh - the web page's board of 10,000 opportunities
# (issue 19 "Measured", spec/web.md): one node (the release binary,
# $ENTENTE, default ./entente) holding N objects (WEB_BENCH_OBJECTS,
# default 10000) spread over the stages, then headless Chromium
# (playwright-core) opens the board: time to first render (the first card
# shown), time to interactive (every page of the list loaded and the
# column counts add up to N, the cards rendered), and the bytes the
# browser received, reported against the goal of 1 s to interactive.
# Run by `make bench-web`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export ENTENTE=${ENTENTE:-$ROOT/entente}
. "$ROOT/tests/e2e/lib.sh"
lib_init web_bench
N=${WEB_BENCH_OBJECTS:-10000}
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || fail "chromium is not installed (make web-deps)"
SERVE_ARGS=(--api 127.0.0.1:0)
node_start A
P=$(e A status --json | py 'd["api_tcp"]')
printf '%s\n' 'Bench-password-42' | e A user add bench --role admin --password-stdin >/dev/null
start=$(date +%s%N)
python3 - "$T/A/api.sock" "$N" <<'PY'
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
stages = ["Prospecting", "Qualification", "Solution", "Proposal", "Negotiation"]
for i in range(n):
    body = json.dumps({"type": "opportunity",
                       "set": {"name": "Deal %05d" % i, "stage": stages[i % 5],
                               "close_date": "2027-%02d-15" % (i % 12 + 1)},
                       "private": {"deal_size": "%d EUR" % (1000 + i)}}).encode()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"POST /v1/objects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    r = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        r += c
    s.close()
    if not r.startswith(b"HTTP/1.1 201"):
        sys.exit("create %d: %r" % (i, r[:200]))
PY
echo "web_board: $N objects created in $((($(date +%s%N) - start) / 1000000)) ms"
BASE="http://$P" N="$N" CHROMIUM="$CHROMIUM" WEB="$ROOT/node/web" \
    node "$ROOT/tests/bench/web_board.mjs" || fail "web_board.mjs"
nodes_stop_all
