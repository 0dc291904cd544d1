#!/usr/bin/env bash
# tests/e2e/flow.sh - flow control instead of dropped sessions (issue 20
# point 7, spec/protocol.md §3.9): two real nodes with a session open.
#  1. A burst of FLOW_WRITES writes through the batch API on A (1,000
#     changes a request) while B is connected: pushes go one OPS per run
#     of an object per loop turn, each side keeps to the credit the other
#     grants, and B's session is never dropped; A and B converge.
#  2. B joins an object of FLOW_JOIN_OPS ops that each set 256 fields: the
#     history arrives within the credit, no session dropped, both converge.
# "No session dropped": no drop, close, LIMIT error, violation or strike in
# either log (the join opens a second session, which stays open too).
# make test runs it scaled down (1,000 writes, 120 ops: the batch API under
# ASan writes about 100 ops/s on a loaded 2-core machine); make test-long with FLOW_WRITES=100000
# FLOW_JOIN_OPS=5000. Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FLOW_WRITES=${FLOW_WRITES:-1000}
FLOW_JOIN_OPS=${FLOW_JOIN_OPS:-120}
WAIT_SECONDS=${FLOW_WAIT_SECONDS:-120}

lib_init flow
# the nodes start with the default map (64 MiB): the full sizes of make
# test-long grow it several times during group commits
node_start A
node_start B

ID=$(e A object create --type opportunity --set "name=Flow burst")
e B join "$(e A invite "$ID")" >/dev/null 2>"$T/join1.err" ||
    fail "B join: $(cat "$T/join1.err")"
wait_for "B holds the object" same_shared "$ID" A B
# --- 1. the write burst -------------------------------------------------------
# batch files: FLOW_WRITES `set` changes of next_step in requests of 1,000
python3 - "$T" "$ID" "$FLOW_WRITES" <<'EOF'
import json, sys
t, oid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for b in range(0, n, 1000):
    ch = [{"op": "set", "id": oid, "set": {"next_step": "step %d" % i}}
          for i in range(b, min(n, b + 1000))]
    with open("%s/burst-%06d.json" % (t, b), "w") as f:
        json.dump({"changes": ch}, f)
EOF
t0=$(date +%s.%N)
for f in "$T"/burst-*.json; do
    e A object batch "$f" >/dev/null || fail "batch $f"
done
t1=$(date +%s.%N)
last="step $((FLOW_WRITES - 1))"
b_has_last() { [ "$(e B object show "$ID" --json | py 'd["shared"]["next_step"]')" = "$last" ]; }
wait_for "B has the last of $FLOW_WRITES writes" b_has_last
t2=$(date +%s.%N)
wait_for "A and B converge after the burst" same_shared "$ID" A B
python3 -c "
w=$FLOW_WRITES; a=$t1-$t0; b=$t2-$t0
print('flow: %d writes: written in %.1f s (%.0f ops/s), on B after %.1f s (%.0f ops/s)' % (w, a, w/a, b, w/b))" >&2

# --- 2. the join of a big object ---------------------------------------------
J=$(e A object create --type opportunity --set "name=Flow join")
python3 - "$T" "$J" "$FLOW_JOIN_OPS" <<'EOF'
import json, sys
t, oid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
per = 60  # 256 fields of 40-byte values: about 15 KB of JSON a change
for b in range(0, n, per):
    ch = [{"op": "set", "id": oid,
           "custom": {"f%03d" % k: ("v%d-%d-" % (i, k)).ljust(40, "x")
                      for k in range(256)}}
          for i in range(b, min(n, b + per))]
    with open("%s/join-%06d.json" % (t, b), "w") as f:
        json.dump({"changes": ch}, f)
EOF
for f in "$T"/join-*.json; do
    e A object batch "$f" >/dev/null || fail "batch $f"
done
t3=$(date +%s.%N)
e B join "$(e A invite "$J")" --timeout 600s >/dev/null 2>"$T/join2.err" ||
    fail "B join of $FLOW_JOIN_OPS ops: $(cat "$T/join2.err")"
t4=$(date +%s.%N)
wait_for "A and B converge after the join" same_shared "$J" A B
python3 -c "
n=$FLOW_JOIN_OPS; d=$t4-$t3
print('flow: join of %d ops x 256 fields in %.1f s (%.0f ops/s)' % (n, d, n/d))" >&2

# --- no session dropped ---------------------------------------------------------
# (a session drop is logged "session ADDR: dropped: why"; a peer's close
# "peers: session with ORG (NAME) closed after N s: why"; an ERROR that
# ends a session has code 1..4)
for n in A B; do
    bad=$(grep -E "dropped:|closed after|past its credit|says ERROR [1-4]:|violation|strike" \
        "$T/$n.log" | grep -v " api: " || true)
    [ -z "$bad" ] || fail "$n: a session was dropped or refused: $bad"
done
nodes_stop_all
echo "flow: ok"
